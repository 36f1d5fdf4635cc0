package dev.ecomflow.lake;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericAppenderFactory;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.inmemory.InMemoryCatalog;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.DataWriter;
import org.apache.iceberg.io.OutputFileFactory;
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
        InMemoryCatalog catalog = new InMemoryCatalog();
        catalog.initialize("lake", Map.of("warehouse", warehouse.toUri().toString()));
        catalog.createNamespace(Namespace.of("lake"));
        Table table = catalog.createTable(TableIdentifier.of("lake", "events"), SCHEMA,
                PartitionSpec.unpartitioned());
        append(table, new String[][] {
            {"e1", "u1", null, "{\"user_id\":\"u1\"}"},
            {"e2", "u2", null, "{\"user_id\":\"u2\"}"},
            {"e3", null, "u1", "{\"customer_id\":\"u1\"}"},
            {"e4", "u3", null, "{\"note\":\"referred by u1\"}"},
        });
        append(table, new String[][] {{"e5", "u1", null, "{}"}, {"e6", "u2", null, "{}"}});

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

    private static void append(Table table, String[][] rows) throws IOException {
        OutputFileFactory files = OutputFileFactory.builderFor(table, 0, System.nanoTime())
                .format(FileFormat.PARQUET).build();
        DataWriter<Record> writer = new GenericAppenderFactory(table.schema(), table.spec())
                .newDataWriter(files.newOutputFile(), FileFormat.PARQUET, null);
        try (DataWriter<Record> open = writer) {
            for (String[] values : rows) {
                GenericRecord row = GenericRecord.create(table.schema());
                for (int i = 0; i < values.length; i++) {
                    row.set(i, values[i]);
                }
                open.write(row);
            }
        }
        DataFile file = writer.toDataFile();
        table.newAppend().appendFile(file).commit();
    }

    private static List<String> eventIds(Table table) throws IOException {
        List<String> ids = new ArrayList<>();
        try (CloseableIterable<Record> rows = IcebergGenerics.read(table).build()) {
            rows.forEach(row -> ids.add((String) row.getField("event_id")));
        }
        ids.sort(null);
        return ids;
    }
}
