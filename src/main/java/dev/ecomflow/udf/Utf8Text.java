package dev.ecomflow.udf;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * UTF8_TEXT(payload): the payload as valid UTF-8 text, each invalid byte sequence replaced by
 * U+FFFD; UTF8_PROBLEM(payload) says what was invalid (NULL when nothing was).
 *
 * <p>Why: the `raw` format keeps a record's bytes as they came, unchecked. Java functions read
 * them leniently, but Python functions decode strictly, so a single record in Latin-1 or UTF-16
 * failed the Python contract check and with it the job, on every restart. The check reads this
 * function's output instead, and staging dead-letters the record as not_json with this detail.
 */
public class Utf8Text extends ScalarFunction {

    public String eval(@DataTypeHint(value = "STRING", bridgedTo = StringData.class)
            StringData payload) {
        return payload == null ? null : payload.toString();
    }

    /** The invalid part of a payload, as a detail for its dead letter; NULL if it is UTF-8. */
    public static class Problem extends ScalarFunction {
        public String eval(@DataTypeHint(value = "STRING", bridgedTo = StringData.class)
                StringData payload) {
            if (payload == null) {
                return null;
            }
            byte[] bytes = payload.toBytes();
            CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            try {
                decoder.decode(buffer);
                return null;
            } catch (CharacterCodingException e) {
                return "the record is not valid UTF-8 (invalid byte at offset " + buffer.position()
                        + "; stored with U+FFFD in its place)";
            }
        }
    }
}
