package dev.ecomflow.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.RewriteFiles;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.DeleteFilter;
import org.apache.iceberg.data.GenericAppenderFactory;
import org.apache.iceberg.data.GenericDeleteFilter;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetReaders;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.DataWriter;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.parquet.Parquet;

/**
 * Rewrites every data file that has row-level deletes into a file without the deleted rows,
 * so that erased rows ({@code ecomflow forget}) leave the lake's files, not only its reads.
 *
 * <p>Compaction alone does not guarantee it: Iceberg's rewrite leaves a partition with one
 * file alone, deletes or not, and the erased rows would stay on disk behind their delete file
 * for as long as the table lives. Here each such file is read with its deletes applied and
 * written anew in its partition; one commit swaps them. The old files then go with the
 * snapshots that still name them (snapshot expiry, then orphan removal). Idempotent: after a
 * run no data file has deletes, and a second run commits nothing.
 */
final class LakePurge {

    private LakePurge() {
    }

    /** The number of data files rewritten without their deleted rows. */
    static int purge(Table table) {
        if (table.currentSnapshot() == null) {
            return 0;
        }
        long snapshotId = table.currentSnapshot().snapshotId();
        List<FileScanTask> withDeletes = new ArrayList<>();
        try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
            for (FileScanTask task : tasks) {
                if (!task.deletes().isEmpty()) {
                    withDeletes.add(task);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (withDeletes.isEmpty()) {
            return 0;
        }
        Schema schema = table.schema();
        GenericAppenderFactory writers = new GenericAppenderFactory(schema, table.spec());
        OutputFileFactory outputs = OutputFileFactory.builderFor(table, 0, System.nanoTime())
                .format(FileFormat.PARQUET).build();
        Set<DataFile> removed = new HashSet<>();
        Set<DataFile> added = new HashSet<>();
        for (FileScanTask task : withDeletes) {
            DataFile file = task.file();
            PartitionSpec spec = table.specs().get(file.specId());
            DeleteFilter<Record> deletes =
                    new GenericDeleteFilter(table.io(), task, schema, schema);
            Schema read = deletes.requiredSchema();
            // Opened at the first row kept: a file whose every row was deleted just goes.
            DataWriter<Record> writer = null;
            long kept = 0;
            try (CloseableIterable<Record> rows = deletes.filter(
                    Parquet.read(table.io().newInputFile(file.location())).project(read)
                            .createReaderFunc(fileSchema ->
                                    GenericParquetReaders.buildReader(read, fileSchema))
                            .build())) {
                for (Record row : rows) {
                    if (writer == null) {
                        writer = writers.newDataWriter(outputs.newOutputFile(spec,
                                file.partition()), FileFormat.PARQUET, file.partition());
                    }
                    writer.write(project(row, schema));
                    kept++;
                }
                if (writer != null) {
                    writer.close();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (kept == file.recordCount()) {
                // A delete file of the partition, none of whose rows are in this file.
                table.io().deleteFile(writer.toDataFile().location());
                continue;
            }
            removed.add(file);
            if (writer != null) {
                added.add(writer.toDataFile());
            }
        }
        if (removed.isEmpty()) {
            return 0;
        }
        RewriteFiles rewrite = table.newRewrite().validateFromSnapshot(snapshotId);
        removed.forEach(rewrite::deleteFile);
        added.forEach(rewrite::addFile);
        rewrite.commit();
        return removed.size();
    }

    /** The table's columns of a row read with the delete filter's extra columns. */
    private static Record project(Record row, Schema schema) {
        if (row.struct().fields().size() == schema.columns().size()) {
            return row;
        }
        Record copy = org.apache.iceberg.data.GenericRecord.create(schema);
        for (int i = 0; i < schema.columns().size(); i++) {
            copy.set(i, row.getField(schema.columns().get(i).name()));
        }
        return copy;
    }
}
