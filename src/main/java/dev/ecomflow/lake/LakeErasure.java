package dev.ecomflow.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.MetadataColumns;
import org.apache.iceberg.RowDelta;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.GenericAppenderFactory;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.deletes.PositionDelete;
import org.apache.iceberg.deletes.PositionDeleteWriter;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.types.TypeUtil;

/**
 * Erasure of one user from a lake table by Iceberg row-level deletes ({@code ecomflow forget}).
 *
 * <p>A row is the user's when an id column ({@code user_id}, {@code customer_id}) equals the
 * user's hash or the stored payload contains it (the rule docs/privacy.md states for
 * {@code forget}). The rows are found by a scan that applies the deletes already committed, so
 * a second run finds nothing and commits nothing (idempotent). One position-delete file per
 * data file that holds such rows, all committed in one row delta; data files stay as they are
 * until compaction ({@code ecomflow lake maintain}) rewrites them without the deleted rows.
 *
 * <p>Position deletes, not equality deletes: the Python readers (pyiceberg 0.6.1) apply the
 * former and refuse tables with the latter.
 */
public final class LakeErasure {

    static final String[] ID_COLUMNS = {"user_id", "customer_id"};
    static final String TEXT_COLUMN = "payload";

    /** Rows deleted from {@code database.tableName} for {@code userHash}. */
    public long forget(Map<String, String> options, String database, String tableName,
            String userHash) {
        return forget(LakeCatalogs.table(options, database, tableName), userHash);
    }

    /** Rows deleted from {@code table} for {@code userHash}. */
    long forget(Table table, String userHash) {
        if (table.currentSnapshot() == null) {
            return 0;
        }
        long snapshotId = table.currentSnapshot().snapshotId();

        List<String> columns = new ArrayList<>();
        for (String column : ID_COLUMNS) {
            if (table.schema().findField(column) != null) {
                columns.add(column);
            }
        }
        boolean text = table.schema().findField(TEXT_COLUMN) != null;
        if (text) {
            columns.add(TEXT_COLUMN);
        }
        Schema projection = TypeUtil.join(table.schema().select(columns),
                new Schema(MetadataColumns.FILE_PATH, MetadataColumns.ROW_POSITION));

        // The user's rows by data file, positions in order (a delete file is sorted).
        Map<String, TreeSet<Long>> positions = new TreeMap<>();
        try (CloseableIterable<Record> rows = IcebergGenerics.read(table)
                .useSnapshot(snapshotId).project(projection).build()) {
            for (Record row : rows) {
                if (isTheUsers(row, columns, text, userHash)) {
                    positions.computeIfAbsent(row.getField(MetadataColumns.FILE_PATH.name())
                            .toString(), file -> new TreeSet<>())
                            .add((Long) row.getField(MetadataColumns.ROW_POSITION.name()));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (positions.isEmpty()) {
            return 0;
        }

        Map<String, DataFile> files = new HashMap<>();
        try (CloseableIterable<FileScanTask> tasks =
                table.newScan().useSnapshot(snapshotId).planFiles()) {
            tasks.forEach(task -> files.put(task.file().path().toString(), task.file()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        GenericAppenderFactory writers = new GenericAppenderFactory(table.schema(), table.spec());
        OutputFileFactory outputs = OutputFileFactory.builderFor(table, 0, System.nanoTime())
                .format(FileFormat.PARQUET).build();
        RowDelta delta = table.newRowDelta().validateFromSnapshot(snapshotId)
                .validateDataFilesExist(positions.keySet());
        long deleted = 0;
        for (Map.Entry<String, TreeSet<Long>> entry : positions.entrySet()) {
            DataFile file = files.get(entry.getKey());
            PositionDeleteWriter<Record> writer = writers.newPosDeleteWriter(
                    outputs.newOutputFile(table.specs().get(file.specId()), file.partition()),
                    FileFormat.PARQUET, file.partition());
            PositionDelete<Record> delete = PositionDelete.create();
            try (PositionDeleteWriter<Record> open = writer) {
                for (long position : entry.getValue()) {
                    open.write(delete.set(entry.getKey(), position, null));
                    deleted++;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            delta.addDeletes(writer.toDeleteFile());
        }
        delta.commit();
        return deleted;
    }

    private static boolean isTheUsers(Record row, List<String> columns, boolean text,
            String userHash) {
        for (String column : columns) {
            Object value = row.getField(column);
            if (value == null) {
                continue;
            }
            if (column.equals(TEXT_COLUMN) ? value.toString().contains(userHash)
                    : value.toString().equals(userHash)) {
                return true;
            }
        }
        return false;
    }
}
