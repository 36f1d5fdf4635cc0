package dev.ecomflow.stream;

import java.nio.charset.StandardCharsets;
import java.util.stream.IntStream;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.types.Row;

/**
 * The last Java step: every text field of a record as its UTF-8 bytes, the form the table's
 * strings hold. Flink wraps a String lazily and encodes it the first time a reader needs its
 * bytes (to compare, copy, hash or write it), once per table that reads the stream; a dozen
 * results read every record, so the job encoded each field several times, through a
 * thread-local buffer lookup each. {@code String.getBytes} here is one pass, and Flink takes
 * the bytes as they are ({@link Records#schema()} bridges every STRING column to byte[]).
 */
final class TextAsBytes implements MapFunction<Row, Row> {

    private static final long serialVersionUID = 1L;
    private static final int[] TEXT = textFields();

    private static int[] textFields() {
        return IntStream.range(0, Records.typeInfo().getArity())
                .filter(Records::isText).toArray();
    }

    @Override
    public Row map(Row row) {
        for (int field : TEXT) {
            Object text = row.getField(field);
            if (text != null) {
                row.setField(field, ((String) text).getBytes(StandardCharsets.UTF_8));
            }
        }
        return row;
    }
}
