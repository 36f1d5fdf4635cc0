package dev.ecomflow.lake;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.exceptions.NotFoundException;
import org.apache.iceberg.flink.FlinkSchemaUtil;
import org.apache.iceberg.types.Types;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates a lake table in its Iceberg catalog before the job writes to it, when it is missing.
 *
 * <p>Why here and not in the sink's DDL: Flink's DDL can only partition by columns, while the
 * lake's tables are partitioned by a transform of their event time ({@code hour(event_time)}),
 * Iceberg's hidden partitioning, which readers prune on without knowing the layout. The
 * columns are the Flink sink table's (sql/50_sinks/snk_lake__*.sql), so the SQL stays the one
 * declaration of each table's schema. An existing table is never re-created: a column the sink
 * has and the table lacks (a new optional field of the event contract) is added to it by an
 * Iceberg schema update, which rewrites no data file; older snapshots keep their schema and stay
 * readable, and older rows read the new column as NULL. A column is never dropped or narrowed.
 *
 * <p>The catalog is loaded with the same options the sink's {@code 'connector' = 'iceberg'}
 * uses ({@code catalog-impl} and its properties), so the job creates the table exactly where
 * it then writes. An instance method: Python reaches it through a loaded class's
 * newInstance().
 */
public final class LakeTables {

    private static final Logger LOG = LoggerFactory.getLogger(LakeTables.class);
    // Format version 2 (row-level deletes); Parquet compressed with Snappy, as the Parquet
    // lake's files are (Iceberg's default, zstd, cost the job a fifth of its throughput here).
    static final Map<String, String> PROPERTIES = Map.of("format-version", "2",
            "write.format.default", "parquet", "write.parquet.compression-codec", "snappy");

    /**
     * Ensure the table behind sink table {@code sinkTable} exists.
     *
     * @param options the sink's connector options: catalog-name, catalog-impl,
     *     catalog-database, catalog-table and the catalog's own properties
     * @param transform "hour" or "day"
     * @param timeColumn the timestamp column the partitions are computed from
     * @return "created", "unchanged", or "added " and the columns added
     */
    public String ensure(StreamTableEnvironment tEnv, String sinkTable,
            Map<String, String> options, String transform, String timeColumn) {
        Namespace namespace = Namespace.of(
                LakeCatalogs.require(options.get("catalog-database"), "catalog-database"));
        TableIdentifier id = TableIdentifier.of(namespace,
                LakeCatalogs.require(options.get("catalog-table"), "catalog-table"));
        Catalog catalog = LakeCatalogs.load(options);
        Schema schema = FlinkSchemaUtil.convert(tEnv.from(sinkTable).getResolvedSchema());
        if (exists(catalog, id)) {
            Table table = catalog.loadTable(id);
            requireUnder(table, options.get("warehouse"), id);
            List<String> added = evolve(table, schema);
            if (added.isEmpty()) {
                return "unchanged";
            }
            LOG.info("lake table {}: added columns {}", id, added);
            return "added " + String.join(", ", added);
        }
        if (catalog instanceof SupportsNamespaces) {
            SupportsNamespaces namespaces = (SupportsNamespaces) catalog;
            if (!namespaces.namespaceExists(namespace)) {
                namespaces.createNamespace(namespace);
            }
        }
        catalog.createTable(id, schema, spec(schema, transform, timeColumn), PROPERTIES);
        LOG.info("lake table {}: created", id);
        return "created";
    }

    /** Whether the catalog names the table; a clear error when its files are gone. */
    private static boolean exists(Catalog catalog, TableIdentifier id) {
        try {
            return catalog.tableExists(id);
        } catch (NotFoundException e) {
            throw new IllegalStateException("lake table " + id + " is in the catalog, but its "
                    + "metadata is gone (" + e.getMessage() + "): its lake's files were "
                    + "deleted. Name another database for this lake (Lake.catalog.database; "
                    + "ecomflow run --lake-database NAME).", e);
        }
    }

    /**
     * Fails when an existing table lies outside the lake's location: its catalog database then
     * belongs to another lake (a run with another {@code --lake}), and writing on would mix
     * two lakes' rows in one table while the new location stays empty.
     */
    static void requireUnder(Table table, String warehouse, TableIdentifier id) {
        if (warehouse == null || warehouse.isEmpty()) {
            return; // Glue: the database's location places the tables, not the job
        }
        String location = normalise(table.location());
        String lake = normalise(warehouse);
        if (!location.startsWith(lake.endsWith("/") ? lake : lake + "/")) {
            throw new IllegalStateException("lake table " + id + " is at " + table.location()
                    + ", outside this run's lake " + warehouse + ": its catalog database "
                    + "belongs to another lake. Name another database for this lake "
                    + "(Lake.catalog.database; ecomflow run --lake-database NAME).");
        }
    }

    /** file:/x, file:///x and s3a://b/x as file:/x and s3://b/x (Hadoop prints both). */
    static String normalise(String location) {
        String path = location.replaceFirst("^file:/+", "file:/");
        return path.startsWith("s3a://") ? "s3://" + path.substring(6) : path;
    }

    /** Adds the columns of {@code wanted} that the table lacks (by name); the names added. */
    static List<String> evolve(Table table, Schema wanted) {
        List<String> added = new ArrayList<>();
        for (Types.NestedField column : wanted.columns()) {
            if (table.schema().findField(column.name()) == null) {
                added.add(column.name());
            }
        }
        if (!added.isEmpty()) {
            table.updateSchema().unionByNameWith(wanted).commit();
        }
        return added;
    }

    static PartitionSpec spec(Schema schema, String transform, String timeColumn) {
        PartitionSpec.Builder builder = PartitionSpec.builderFor(schema);
        switch (transform) {
            case "hour":
                return builder.hour(timeColumn).build();
            case "day":
                return builder.day(timeColumn).build();
            default:
                throw new IllegalArgumentException(
                        "lake tables are partitioned by hour or day, not " + transform);
        }
    }
}
