package dev.ecomflow.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFiles;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionField;
import org.apache.iceberg.Table;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;

/**
 * Expiry of old rows from a table partitioned by the hour of a time column: the raw dead
 * letters, which the design keeps for diagnosis only (30 days), now that no S3 lifecycle rule
 * can expire a table's files (the table's metadata would still name them).
 *
 * <p>Whole hours only: the cutoff is rounded down to the hour, so every file it removes lies
 * entirely before it (a file holds one hour partition) and the delete is a metadata commit
 * that rewrites nothing. The files themselves go when the snapshots that still name them
 * expire ({@link LakeMaintenance}). Idempotent: a second run finds no file to delete.
 */
public final class LakeExpiry {

    private static final long HOUR_MILLIS = 3_600_000L;

    /** Deletes the rows whose {@code column} lies in an hour before {@code beforeMillis}. */
    public Map<String, Long> expire(Map<String, String> options, String database,
            String tableName, String column, long beforeMillis) {
        return expire(LakeCatalogs.table(options, database, tableName), column, beforeMillis);
    }

    static Map<String, Long> expire(Table table, String column, long beforeMillis) {
        int position = hourPartition(table, column);
        long cutoffHour = Math.floorDiv(beforeMillis, HOUR_MILLIS);
        Map<String, Long> done = new LinkedHashMap<>();
        done.put("files_deleted", 0L);
        done.put("rows_deleted", 0L);
        if (table.currentSnapshot() == null) {
            return done;
        }
        DeleteFiles delete = table.newDelete();
        try (CloseableIterable<FileScanTask> tasks = table.newScan()
                .filter(Expressions.lessThan(column, cutoffHour * HOUR_MILLIS * 1000))
                .planFiles()) {
            for (FileScanTask task : tasks) {
                DataFile file = task.file();
                Integer hour = file.partition().get(position, Integer.class);
                if (hour != null && hour < cutoffHour) {
                    delete.deleteFile(file);
                    done.merge("files_deleted", 1L, Long::sum);
                    done.merge("rows_deleted", file.recordCount(), Long::sum);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (done.get("files_deleted") > 0) {
            delete.commit();
        }
        return done;
    }

    /** The position of {@code hour(column)} in the table's partition spec. */
    private static int hourPartition(Table table, String column) {
        int position = 0;
        for (PartitionField field : table.spec().fields()) {
            if ("hour".equals(field.transform().toString())
                    && column.equals(table.schema().findColumnName(field.sourceId()))) {
                return position;
            }
            position++;
        }
        throw new IllegalArgumentException(table.name() + " is not partitioned by hour("
                + column + "): rows can only be expired by whole partitions");
    }
}
