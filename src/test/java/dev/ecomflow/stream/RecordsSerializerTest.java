package dev.ecomflow.stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;

import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.types.Row;
import org.apache.flink.types.RowKind;
import org.junit.jupiter.api.Test;

/** The records' shuffle serializer against Flink's RowSerializer: the same rows come back. */
class RecordsSerializerTest {

    private static final TypeSerializer<Row> FLINK =
            Records.typeInfo().createSerializer(new org.apache.flink.api.common.serialization
                    .SerializerConfigImpl());

    private static Row roundTrip(Row row) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        RecordsSerializer.INSTANCE.serialize(row, out);
        // a second row after the first: each reads exactly what it wrote
        RecordsSerializer.INSTANCE.serialize(Records.empty(), out);
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        Row back = RecordsSerializer.INSTANCE.deserialize(in);
        Row empty = RecordsSerializer.INSTANCE.deserialize(in);
        assertEquals(0, in.available());
        for (int i = 0; i < empty.getArity(); i++) {
            assertNull(empty.getField(i));
        }
        return back;
    }

    /** Every field set, each kind of value at its edges: non-ASCII and empty text, a NUL,
     * payload bytes that are not UTF-8, negative and huge decimals, times before 1970. */
    private static Row full() {
        Row row = Records.empty();
        for (int i = 0; i < row.getArity(); i++) {
            row.setField(i, i % 2 == 0 ? "é€😀 field " + i : "");
        }
        row.setField(Records.EVENT_ID, "a\u0000b");
        row.setField(Records.PAYLOAD, new byte[] {(byte) 0xff, 0, '{', (byte) 0xc3});
        row.setField(Records.EVENT_TIME, Instant.ofEpochMilli(-1));
        row.setField(Records.ARRIVAL_WATERMARK, Instant.ofEpochSecond(1_752_660_000L, 500));
        row.setField(Records.ACCOUNTING_TIME, Instant.ofEpochMilli(1_752_660_000_123L));
        row.setField(Records.RECEIVED_AT, LocalDateTime.of(1969, 12, 31, 23, 59, 59, 999_000_000));
        row.setField(Records.QUANTITY, Integer.MIN_VALUE);
        row.setField(Records.PRICE, new BigDecimal("-0.01"));
        row.setField(Records.TOTAL_AMOUNT, new BigDecimal("9999999999999999.99"));
        row.setField(Records.CATALOG_PRICE, new BigDecimal("0.00"));
        row.setField(Records.PRICE_USD, new BigDecimal("123456789012345678901234567890.5"));
        row.setField(Records.TOTAL_AMOUNT_USD, new BigDecimal("1E+5"));
        row.setField(Records.FX_RATE_TO_USD, new BigDecimal("1.23456789"));
        return row;
    }

    @Test
    void givesBackWhatFlinksRowSerializerGivesBack() throws Exception {
        Row row = full();
        row.setKind(RowKind.UPDATE_AFTER);
        Row back = roundTrip(row);
        Row reference = FLINK.copy(row);
        assertEquals(RowKind.UPDATE_AFTER, back.getKind());
        for (int i = 0; i < row.getArity(); i++) {
            if (i == Records.PAYLOAD) {
                assertArrayEquals((byte[]) reference.getField(i), (byte[]) back.getField(i));
            } else {
                assertEquals(reference.getField(i), back.getField(i), "field " + i);
            }
        }
    }

    @Test
    void keepsEveryPatternOfNulls() throws Exception {
        for (int skip = 0; skip < Records.typeInfo().getArity(); skip++) {
            Row row = full();
            row.setField(skip, null);
            Row back = roundTrip(row);
            assertNull(back.getField(skip));
            assertEquals(row.getField(Records.OUTCOME == skip ? Records.REASON : Records.OUTCOME),
                    back.getField(Records.OUTCOME == skip ? Records.REASON : Records.OUTCOME));
        }
    }

    @Test
    void restoresItselfFromItsSnapshot() throws Exception {
        TypeSerializerSnapshot<Row> snapshot = RecordsSerializer.INSTANCE.snapshotConfiguration();
        assertTrue(snapshot.resolveSchemaCompatibility(
                RecordsSerializer.INSTANCE.snapshotConfiguration()).isCompatibleAsIs());
        assertEquals(RecordsSerializer.INSTANCE, snapshot.restoreSerializer());
        assertEquals(RecordsSerializer.INSTANCE,
                RecordsSerializer.wireType().createSerializer(
                        new org.apache.flink.api.common.serialization.SerializerConfigImpl()));
    }

    @Test
    void textReachesTheTableAsUtf8Bytes() {
        Row row = new TextAsBytes().map(full());
        assertArrayEquals("é€😀 field 4".getBytes(StandardCharsets.UTF_8),
                (byte[]) row.getField(Records.USER_ID));
        assertArrayEquals("a\u0000b".getBytes(StandardCharsets.UTF_8),
                (byte[]) row.getField(Records.EVENT_ID));
        assertEquals(Integer.MIN_VALUE, row.getField(Records.QUANTITY));
        assertEquals(new BigDecimal("-0.01"), row.getField(Records.PRICE));
        for (int i = 0; i < row.getArity(); i++) {
            boolean text = Records.isText(i) || i == Records.PAYLOAD;
            assertEquals(text, row.getField(i) instanceof byte[], "field " + i);
            assertEquals(text, byte[].class.equals(
                    Records.tableTypeInfo().getTypeAt(i).getTypeClass()), "field " + i);
        }
    }
}
