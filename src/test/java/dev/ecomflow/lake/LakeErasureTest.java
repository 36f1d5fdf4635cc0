package dev.ecomflow.lake;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Erasure by position deletes: the user's rows (by id column or inside the payload) go, every
 * other row stays, the data files are untouched, and a second run deletes and commits nothing.
 * (The job-level test, tests/jobs/test_clean_stream.py, runs `ecomflow forget` once on the
 * job's own tables.)
 */
class LakeErasureTest {

    private static final Schema SCHEMA = new Schema(
            Types.NestedField.optional(1, "event_id", Types.StringType.get()),
            Types.NestedField.optional(2, "user_id", Types.StringType.get()),
            Types.NestedField.optional(3, "customer_id", Types.StringType.get()),
            Types.NestedField.optional(4, "payload", Types.StringType.get()));

    @TempDir
    Path warehouse;

    @Test
    void theUsersRowsGoOnceAndNothingElse() throws IOException {
        Table table = TestTables.create(warehouse, SCHEMA, PartitionSpec.unpartitioned());
        TestTables.append(table, List.of(
                new Object[] {"e1", "u1", null, "{\"user_id\":\"u1\"}"},
                new Object[] {"e2", "u2", null, "{\"user_id\":\"u2\"}"},
                new Object[] {"e3", null, "u1", "{\"customer_id\":\"u1\"}"},
                new Object[] {"e4", "u3", null, "{\"note\":\"referred by u1\"}"}));
        TestTables.append(table, List.of(
                new Object[] {"e5", "u1", null, "{}"}, new Object[] {"e6", "u2", null, "{}"}));

        LakeErasure erasure = new LakeErasure();
        assertEquals(4, erasure.forget(table, "u1"));
        table.refresh();
        assertEquals(List.of("e2", "e6"), eventIds(table));
        long snapshot = table.currentSnapshot().snapshotId();

        assertEquals(0, erasure.forget(table, "u1"));
        table.refresh();
        assertEquals(snapshot, table.currentSnapshot().snapshotId(), "nothing committed");
        assertEquals(List.of("e2", "e6"), eventIds(table));
    }

    private static List<String> eventIds(Table table) throws IOException {
        List<String> ids = new ArrayList<>();
        for (Record row : TestTables.rows(IcebergGenerics.read(table).build())) {
            ids.add((String) row.getField("event_id"));
        }
        ids.sort(null);
        return ids;
    }
}
