package dev.ecomflow.lake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Schema evolution of a lake table: a new optional field of the contract (a column the sink
 * gains) becomes a column of the table without rewriting a data file, and the snapshot from
 * before stays readable with its own schema.
 */
class LakeTablesTest {

    private static final Schema BEFORE = new Schema(
            Types.NestedField.optional(1, "event_id", Types.StringType.get()),
            Types.NestedField.optional(2, "event_time", Types.TimestampType.withoutZone()));
    // The sink after the contract gained an optional `coupon_code` (ids as a fresh conversion
    // of the Flink schema assigns them: by position, so the names are what match).
    private static final Schema AFTER = new Schema(
            Types.NestedField.optional(1, "event_id", Types.StringType.get()),
            Types.NestedField.optional(2, "event_time", Types.TimestampType.withoutZone()),
            Types.NestedField.optional(3, "coupon_code", Types.StringType.get()));

    @TempDir
    Path warehouse;

    @Test
    void aNewOptionalFieldAddsAColumnWithoutRewritingData() throws IOException {
        Table table = TestTables.create(warehouse, BEFORE,
                LakeTables.spec(BEFORE, "hour", "event_time"));
        // hour(event_time) partitions; one file of rows without a time (the null partition).
        TestTables.append(table, List.of(new Object[] {"e1", null}, new Object[] {"e2", null}));
        long before = table.currentSnapshot().snapshotId();
        Set<String> files = dataFiles(table);

        assertEquals(List.of("coupon_code"), LakeTables.evolve(table, AFTER));
        table.refresh();
        assertEquals(Types.StringType.get(), table.schema().findType("coupon_code"));
        assertEquals(files, dataFiles(table), "no data file rewritten");
        assertEquals(before, table.currentSnapshot().snapshotId(), "a schema change, no commit");

        // Old rows read the new column as NULL; the old snapshot reads with its own schema.
        List<Record> now = TestTables.rows(IcebergGenerics.read(table).build());
        assertEquals(2, now.size());
        for (Record row : now) {
            assertNull(row.getField("coupon_code"));
        }
        List<Record> then = TestTables.rows(IcebergGenerics.read(table).useSnapshot(before).build());
        assertEquals(2, then.size());
        assertEquals(BEFORE.asStruct(), then.get(0).struct());

        // The same sink again: nothing to add, no new schema version.
        int schemas = table.schemas().size();
        assertEquals(List.of(), LakeTables.evolve(table, AFTER));
        table.refresh();
        assertEquals(schemas, table.schemas().size());
    }

    @Test
    void aTableOfAnotherLakeIsRefusedWithTheWayOut() {
        Table table = TestTables.create(warehouse, BEFORE,
                LakeTables.spec(BEFORE, "hour", "event_time"));
        TableIdentifier id = TableIdentifier.of("lake", "events");
        // Its own lake, however the URL is spelled (file:/ or file:///, with a slash or not).
        LakeTables.requireUnder(table, warehouse.toUri().toString(), id);
        LakeTables.requireUnder(table, "file:" + warehouse, id);
        LakeTables.requireUnder(table, null, id);
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> LakeTables.requireUnder(table, warehouse.resolve("other").toUri()
                        .toString(), id));
        assertTrue(error.getMessage().contains("--lake-database"), error.getMessage());
        // A sibling folder whose name starts with the lake's is another lake too.
        assertThrows(IllegalStateException.class,
                () -> LakeTables.requireUnder(table, "file:" + warehouse + "-2", id));
        assertEquals("s3://b/x", LakeTables.normalise("s3a://b/x"));
    }

    private static Set<String> dataFiles(Table table) throws IOException {
        Set<String> paths = new HashSet<>();
        try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
            tasks.forEach(task -> paths.add(task.file().path().toString()));
        }
        return paths;
    }
}
