package dev.ecomflow.lake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericAppenderFactory;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.inmemory.InMemoryCatalog;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.DataWriter;
import org.apache.iceberg.io.OutputFileFactory;
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
        InMemoryCatalog catalog = new InMemoryCatalog();
        catalog.initialize("lake", Map.of("warehouse", warehouse.toUri().toString()));
        catalog.createNamespace(Namespace.of("lake"));
        Table table = catalog.createTable(TableIdentifier.of("lake", "events"), BEFORE,
                LakeTables.spec(BEFORE, "hour", "event_time"));
        // hour(event_time) partitions; one file of rows without a time (the null partition).
        append(table, List.of("e1", "e2"));
        long before = table.currentSnapshot().snapshotId();
        Set<String> files = dataFiles(table);

        assertEquals(List.of("coupon_code"), LakeTables.evolve(table, AFTER));
        table.refresh();
        assertEquals(Types.StringType.get(), table.schema().findType("coupon_code"));
        assertEquals(files, dataFiles(table), "no data file rewritten");
        assertEquals(before, table.currentSnapshot().snapshotId(), "a schema change, no commit");

        // Old rows read the new column as NULL; the old snapshot reads with its own schema.
        List<Record> now = rows(IcebergGenerics.read(table).build());
        assertEquals(2, now.size());
        for (Record row : now) {
            assertNull(row.getField("coupon_code"));
        }
        List<Record> then = rows(IcebergGenerics.read(table).useSnapshot(before).build());
        assertEquals(2, then.size());
        assertEquals(BEFORE.asStruct(), then.get(0).struct());

        // The same sink again: nothing to add, no new schema version.
        int schemas = table.schemas().size();
        assertEquals(List.of(), LakeTables.evolve(table, AFTER));
        table.refresh();
        assertEquals(schemas, table.schemas().size());
    }

    private static void append(Table table, List<String> ids) throws IOException {
        OutputFileFactory files = OutputFileFactory.builderFor(table, 0, 0)
                .format(FileFormat.PARQUET).build();
        DataWriter<Record> writer = new GenericAppenderFactory(table.schema(), table.spec())
                .newDataWriter(files.newOutputFile(table.spec(), partitionOfNull(table)),
                        FileFormat.PARQUET, partitionOfNull(table));
        try (DataWriter<Record> open = writer) {
            for (String id : ids) {
                GenericRecord row = GenericRecord.create(table.schema());
                row.setField("event_id", id);
                open.write(row);
            }
        }
        DataFile file = writer.toDataFile();
        table.newAppend().appendFile(file).commit();
    }

    private static org.apache.iceberg.PartitionKey partitionOfNull(Table table) {
        org.apache.iceberg.PartitionKey key =
                new org.apache.iceberg.PartitionKey(table.spec(), table.schema());
        key.partition(new org.apache.iceberg.data.InternalRecordWrapper(table.schema().asStruct())
                .wrap(GenericRecord.create(table.schema())));
        return key;
    }

    private static Set<String> dataFiles(Table table) throws IOException {
        Set<String> paths = new HashSet<>();
        try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
            tasks.forEach(task -> paths.add(task.file().path().toString()));
        }
        return paths;
    }

    private static List<Record> rows(CloseableIterable<Record> read) throws IOException {
        List<Record> rows = new ArrayList<>();
        try (CloseableIterable<Record> open = read) {
            open.forEach(row -> rows.add(row.copy()));
        }
        return rows;
    }
}
