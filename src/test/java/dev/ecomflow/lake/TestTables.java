package dev.ecomflow.lake;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.iceberg.FileFormat;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericAppenderFactory;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.encryption.EncryptedOutputFile;
import org.apache.iceberg.inmemory.InMemoryCatalog;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.DataWriter;
import org.apache.iceberg.io.OutputFileFactory;

/** Lake tables for the tests of the lake's Java helpers: in an in-memory catalog, no server. */
final class TestTables {

    private TestTables() {}

    /** A new table `lake.events` in a catalog of its own. */
    static Table create(Path warehouse, Schema schema, PartitionSpec spec) {
        InMemoryCatalog catalog = new InMemoryCatalog();
        catalog.initialize("lake", Map.of("warehouse", warehouse.toUri().toString()));
        catalog.createNamespace(Namespace.of("lake"));
        return catalog.createTable(TableIdentifier.of("lake", "events"), schema, spec);
    }

    /** Appends one data file of `rows` (values by column position, all in the partition of
     * the first row) in its own snapshot. */
    static void append(Table table, List<Object[]> rows) throws IOException {
        List<Record> records = new ArrayList<>();
        for (Object[] values : rows) {
            GenericRecord record = GenericRecord.create(table.schema());
            for (int i = 0; i < values.length; i++) {
                record.set(i, values[i]);
            }
            records.add(record);
        }
        OutputFileFactory files = OutputFileFactory.builderFor(table, 0, System.nanoTime())
                .format(FileFormat.PARQUET).build();
        PartitionKey partition = null;
        EncryptedOutputFile out;
        if (table.spec().isUnpartitioned()) {
            out = files.newOutputFile();
        } else {
            partition = new PartitionKey(table.spec(), table.schema());
            partition.partition(new InternalRecordWrapper(table.schema().asStruct())
                    .wrap(records.get(0)));
            out = files.newOutputFile(table.spec(), partition);
        }
        DataWriter<Record> writer = new GenericAppenderFactory(table.schema(), table.spec())
                .newDataWriter(out, FileFormat.PARQUET, partition);
        try (DataWriter<Record> open = writer) {
            records.forEach(open::write);
        }
        table.newAppend().appendFile(writer.toDataFile()).commit();
    }

    /** Every record of a read, copied out of the reader's reused objects. */
    static List<Record> rows(CloseableIterable<Record> read) throws IOException {
        List<Record> rows = new ArrayList<>();
        try (CloseableIterable<Record> open = read) {
            open.forEach(row -> rows.add(row.copy()));
        }
        return rows;
    }
}
