package dev.ecomflow.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.SecurityOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.ReachableFileUtil;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.actions.RewriteDataFilesActionResult;
import org.apache.iceberg.flink.actions.Actions;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.FileInfo;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.SupportsPrefixOperations;

/**
 * Maintenance of one lake table: compaction, snapshot expiry, orphan removal. Idempotent: a
 * second run right after the first finds nothing to do.
 *
 * <ol>
 *   <li>Purge: data files with row-level deletes (an erased user's rows) are rewritten without
 *       the deleted rows ({@link LakePurge}): compaction skips a partition's only file.
 *   <li>Compaction: Iceberg's Flink action rewrites each partition's small files into files of
 *       up to {@code targetBytes} (a local batch job in this JVM); a partition with one file is
 *       left alone. Rows are read with their deletes applied, so erased rows leave the files.
 *   <li>Snapshot expiry: snapshots older than the cutoff go, the newest {@code retainLast}
 *       stay; files only they referenced are deleted with them.
 *   <li>Orphan removal: files under the table's location that no remaining snapshot or
 *       metadata file names (a crashed write's leftovers, files an expiry left behind), older
 *       than the cutoff so that a commit in flight keeps its new files.
 * </ol>
 *
 * <p>Catalog options as {@link LakeTables} takes them (the sink's, without the table).
 */
public final class LakeMaintenance {

    /** What one run did, in the order it did it (counts). */
    public Map<String, Long> maintain(Map<String, String> options, String database,
            String tableName, long olderThanMillis, int retainLast, long targetBytes) {
        Table table = LakeCatalogs.table(options, database, tableName);
        long cutoff = System.currentTimeMillis() - olderThanMillis;

        Map<String, Long> done = new LinkedHashMap<>();
        done.put("data_files_before", (long) dataFiles(table));
        done.put("snapshots_before", (long) size(table.snapshots()));
        done.put("files_purged", (long) LakePurge.purge(table));
        table.refresh();
        if (table.currentSnapshot() != null) {
            // A local batch job in this JVM, without Kerberos (no HDFS: see environment.py).
            Configuration local = new Configuration();
            local.set(SecurityOptions.DELEGATION_TOKENS_ENABLED, false);
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.getExecutionEnvironment(local);
            env.setParallelism(1);
            RewriteDataFilesActionResult rewrite = Actions.forTable(env, table)
                    .rewriteDataFiles().targetSizeInBytes(targetBytes).execute();
            done.put("files_compacted", (long) rewrite.deletedDataFiles().size());
            done.put("files_written", (long) rewrite.addedDataFiles().size());
            table.refresh();
            table.expireSnapshots().expireOlderThan(cutoff).retainLast(retainLast).commit();
            table.refresh();
        }
        done.put("orphans_removed", (long) removeOrphans(table, cutoff));
        done.put("data_files_after", (long) dataFiles(table));
        done.put("snapshots_after", (long) size(table.snapshots()));
        return done;
    }

    private static int dataFiles(Table table) {
        if (table.currentSnapshot() == null) {
            return 0;
        }
        try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
            Set<String> files = new HashSet<>();
            tasks.forEach(task -> files.add(task.file().path().toString()));
            return files.size();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes the files under the table's location that nothing reachable names. */
    private static int removeOrphans(Table table, long cutoff) {
        FileIO io = table.io();
        if (!(io instanceof SupportsPrefixOperations)) {
            throw new IllegalStateException(
                    io.getClass().getName() + " cannot list files: no orphan removal");
        }
        Set<String> reachable = reachable(table);
        List<String> orphans = new ArrayList<>();
        for (FileInfo file : ((SupportsPrefixOperations) io).listPrefix(table.location())) {
            String key = key(file.location());
            String name = key.substring(key.lastIndexOf('/') + 1);
            // A local file system's checksum file (.name.crc) lives and dies with its file.
            String owner = name.startsWith(".") && name.endsWith(".crc")
                    ? key.substring(0, key.lastIndexOf('/') + 1)
                            + name.substring(1, name.length() - 4)
                    : key;
            if (!reachable.contains(owner) && file.createdAtMillis() < cutoff) {
                orphans.add(file.location());
            }
        }
        orphans.forEach(io::deleteFile);
        return orphans.size();
    }

    private static Set<String> reachable(Table table) {
        Set<String> files = new HashSet<>();
        ReachableFileUtil.metadataFileLocations(table, true).forEach(p -> files.add(key(p)));
        files.add(key(ReachableFileUtil.versionHintLocation(table)));
        ReachableFileUtil.statisticsFilesLocations(table).forEach(p -> files.add(key(p)));
        for (Snapshot snapshot : table.snapshots()) {
            files.add(key(snapshot.manifestListLocation()));
            for (ManifestFile manifest : snapshot.allManifests(table.io())) {
                files.add(key(manifest.path()));
                if (manifest.content() == org.apache.iceberg.ManifestContent.DATA) {
                    try (CloseableIterable<String> paths =
                            ManifestFiles.readPaths(manifest, table.io())) {
                        paths.forEach(p -> files.add(key(p)));
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                } else {
                    try (CloseableIterable<DeleteFile> deletes = ManifestFiles.readDeleteManifest(
                            manifest, table.io(), table.specs())) {
                        deletes.forEach(d -> files.add(key(d.path().toString())));
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            }
        }
        return files;
    }

    /** One spelling per file: file:/x, file:///x and /x are the same; s3://b/k is b/k. */
    static String key(String location) {
        URI uri = URI.create(location.replace(" ", "%20"));
        String authority = uri.getAuthority() == null ? "" : uri.getAuthority();
        return authority + uri.getPath().replaceAll("/+", "/");
    }

    private static int size(Iterable<?> items) {
        int n = 0;
        for (Object ignored : items) {
            n++;
        }
        return n;
    }
}
