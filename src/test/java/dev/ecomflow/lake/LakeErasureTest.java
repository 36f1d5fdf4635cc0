package dev.ecomflow.lake;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetReaders;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.parquet.Parquet;
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

    @Test
    void maintenanceRewritesTheFilesSoTheErasedRowsLeaveTheDisk() throws IOException {
        Table table = TestTables.create(warehouse, SCHEMA, PartitionSpec.unpartitioned());
        TestTables.append(table, List.of(
                new Object[] {"e1", "u1", null, "{}"}, new Object[] {"e2", "u2", null, "{}"}));
        TestTables.append(table, List.<Object[]>of(new Object[] {"e3", "u1", null, "{}"}));
        TestTables.append(table, List.<Object[]>of(new Object[] {"e4", "u3", null, "{}"}));
        Set<String> before = dataFiles(table);
        assertEquals(2, new LakeErasure().forget(table, "u1"));
        table.refresh();

        // The two files that held u1's rows are rewritten (one had only u1: it goes), the
        // third is left as it was; what the table reads does not change.
        assertEquals(2, LakePurge.purge(table));
        table.refresh();
        assertEquals(List.of("e2", "e4"), eventIds(table));
        Set<String> after = dataFiles(table);
        assertEquals(2, after.size());
        assertEquals(1, after.stream().filter(before::contains).count(), "e4's file kept");
        // Read without any delete applied, the live files hold exactly the table's rows: u1's
        // are in no file the table still reads.
        List<String> raw = new ArrayList<>();
        for (String file : after) {
            raw.addAll(userIds(table, file));
        }
        raw.sort(null);
        assertEquals(List.of("u2", "u3"), raw);

        long snapshot = table.currentSnapshot().snapshotId();
        assertEquals(0, LakePurge.purge(table));
        table.refresh();
        assertEquals(snapshot, table.currentSnapshot().snapshotId(), "nothing committed");
    }

    private static Set<String> dataFiles(Table table) throws IOException {
        Set<String> files = new HashSet<>();
        try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
            tasks.forEach(task -> files.add(task.file().location()));
        }
        return files;
    }

    private static List<String> userIds(Table table, String file) throws IOException {
        List<String> ids = new ArrayList<>();
        try (CloseableIterable<Record> rows = Parquet.read(table.io().newInputFile(file))
                .project(table.schema())
                .createReaderFunc(schema -> GenericParquetReaders.buildReader(table.schema(),
                        schema))
                .build()) {
            rows.forEach(row -> ids.add((String) row.getField("user_id")));
        }
        return ids;
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
