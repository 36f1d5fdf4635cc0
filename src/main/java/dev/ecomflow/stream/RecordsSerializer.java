package dev.ecomflow.stream;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;

import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.api.java.typeutils.RowTypeInfo;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.Row;

/**
 * The rows of {@link Records} as they cross the clean stream's shuffles (the head to the keyed
 * steps, and from one keyed step to the next): a null mask, then each field in one piece, text
 * as its UTF-8 bytes.
 *
 * <p>Why not Flink's RowSerializer: it writes a String character by character, a call per
 * character, and these rows cross four shuffles; profiles put that serialisation at about a
 * tenth of the clean stream's CPU. Only the shuffles use this type: the steps chained after the
 * last one, the table and every piece of state keep {@link Records#typeInfo()}.
 */
public final class RecordsSerializer extends TypeSerializerSingleton<Row> {

    private static final long serialVersionUID = 1L;
    static final RecordsSerializer INSTANCE = new RecordsSerializer();

    private static final byte TEXT = 0, BYTES = 1, INSTANT = 2, LOCAL_TIME = 3, INT = 4,
            DECIMAL = 5;
    /** How each field of {@link Records} is written, by index: read off its Java type. */
    private static final byte[] KINDS = kinds();

    private static byte[] kinds() {
        RowTypeInfo types = Records.typeInfo();
        byte[] kinds = new byte[types.getArity()];
        for (int i = 0; i < kinds.length; i++) {
            TypeInformation<?> type = types.getTypeAt(i);
            if (Types.STRING.equals(type)) {
                kinds[i] = TEXT;
            } else if (PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO.equals(type)) {
                kinds[i] = BYTES;
            } else if (Types.INSTANT.equals(type)) {
                kinds[i] = INSTANT;
            } else if (Types.LOCAL_DATE_TIME.equals(type)) {
                kinds[i] = LOCAL_TIME;
            } else if (Types.INT.equals(type)) {
                kinds[i] = INT;
            } else if (Types.BIG_DEC.equals(type)) {
                kinds[i] = DECIMAL;
            } else {
                throw new IllegalStateException("RecordsSerializer cannot write field "
                        + types.getFieldNames()[i] + " of type " + type);
            }
        }
        return kinds;
    }

    static {
        if (KINDS.length > Long.SIZE) {
            throw new IllegalStateException("the null mask holds at most 64 fields");
        }
    }

    /** The type to declare on a step whose output crosses a shuffle. */
    public static TypeInformation<Row> wireType() {
        return new WireType();
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public Row createInstance() {
        return Records.empty();
    }

    @Override
    public Row copy(Row from) {
        // Every field's value is immutable (byte[] payloads are never written to).
        Row copy = Records.empty();
        copy.setKind(from.getKind());
        for (int i = 0; i < KINDS.length; i++) {
            copy.setField(i, from.getField(i));
        }
        return copy;
    }

    @Override
    public Row copy(Row from, Row reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(Row row, DataOutputView out) throws IOException {
        long nulls = 0L;
        for (int i = 0; i < KINDS.length; i++) {
            if (row.getField(i) == null) {
                nulls |= 1L << i;
            }
        }
        out.writeByte(row.getKind().toByteValue());
        out.writeLong(nulls);
        for (int i = 0; i < KINDS.length; i++) {
            Object value = row.getField(i);
            if (value != null) {
                write(KINDS[i], value, out);
            }
        }
    }

    private static void write(byte kind, Object value, DataOutputView out) throws IOException {
        switch (kind) {
            case TEXT:
                writeBytes(((String) value).getBytes(StandardCharsets.UTF_8), out);
                break;
            case BYTES:
                writeBytes((byte[]) value, out);
                break;
            case INSTANT:
                Instant instant = (Instant) value;
                out.writeLong(instant.getEpochSecond());
                out.writeInt(instant.getNano());
                break;
            case LOCAL_TIME:
                LocalDateTime time = (LocalDateTime) value;
                out.writeLong(time.toEpochSecond(ZoneOffset.UTC));
                out.writeInt(time.getNano());
                break;
            case INT:
                out.writeInt((Integer) value);
                break;
            default:
                // The job's decimals (DECIMAL(18, 2), DECIMAL(18, 8)) fit a long unscaled.
                BigDecimal decimal = (BigDecimal) value;
                BigInteger unscaled = decimal.unscaledValue();
                out.writeInt(decimal.scale());
                if (unscaled.bitLength() < Long.SIZE) {
                    out.writeBoolean(true);
                    out.writeLong(unscaled.longValue());
                } else {
                    out.writeBoolean(false);
                    writeBytes(unscaled.toByteArray(), out);
                }
        }
    }

    private static void writeBytes(byte[] bytes, DataOutputView out) throws IOException {
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    @Override
    public Row deserialize(DataInputView in) throws IOException {
        Row row = Records.empty();
        row.setKind(org.apache.flink.types.RowKind.fromByteValue(in.readByte()));
        long nulls = in.readLong();
        for (int i = 0; i < KINDS.length; i++) {
            if ((nulls & (1L << i)) == 0) {
                row.setField(i, read(KINDS[i], in));
            }
        }
        return row;
    }

    private static Object read(byte kind, DataInputView in) throws IOException {
        switch (kind) {
            case TEXT:
                return new String(readBytes(in), StandardCharsets.UTF_8);
            case BYTES:
                return readBytes(in);
            case INSTANT:
                return Instant.ofEpochSecond(in.readLong(), in.readInt());
            case LOCAL_TIME:
                long seconds = in.readLong();
                return LocalDateTime.ofEpochSecond(seconds, in.readInt(), ZoneOffset.UTC);
            case INT:
                return in.readInt();
            default:
                int scale = in.readInt();
                return in.readBoolean() ? BigDecimal.valueOf(in.readLong(), scale)
                        : new BigDecimal(new BigInteger(readBytes(in)), scale);
        }
    }

    private static byte[] readBytes(DataInputView in) throws IOException {
        byte[] bytes = new byte[in.readInt()];
        in.readFully(bytes);
        return bytes;
    }

    @Override
    public Row deserialize(Row reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        serialize(deserialize(source), target);
    }

    @Override
    public TypeSerializerSnapshot<Row> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Restores to the same serializer: the layout is {@link Records}'s, fixed in code. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<Row> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }

    /** Flink's type information for rows that use this serializer. */
    private static final class WireType extends TypeInformation<Row> {

        private static final long serialVersionUID = 1L;

        @Override
        public boolean isBasicType() {
            return false;
        }

        @Override
        public boolean isTupleType() {
            return false;
        }

        @Override
        public int getArity() {
            return KINDS.length;
        }

        @Override
        public int getTotalFields() {
            return KINDS.length;
        }

        @Override
        public Class<Row> getTypeClass() {
            return Row.class;
        }

        @Override
        public boolean isKeyType() {
            return false;
        }

        @Override
        public TypeSerializer<Row> createSerializer(SerializerConfig config) {
            return INSTANCE;
        }

        @Override
        @Deprecated
        public TypeSerializer<Row> createSerializer(ExecutionConfig config) {
            return INSTANCE;
        }

        @Override
        public String toString() {
            return "Records(wire)";
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof WireType;
        }

        @Override
        public int hashCode() {
            return WireType.class.hashCode();
        }

        @Override
        public boolean canEqual(Object other) {
            return other instanceof WireType;
        }
    }
}
