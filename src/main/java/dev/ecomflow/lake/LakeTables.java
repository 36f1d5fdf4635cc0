package dev.ecomflow.lake;

import java.util.HashMap;
import java.util.Map;

import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.flink.CatalogLoader;
import org.apache.iceberg.flink.FlinkCatalogFactory;
import org.apache.iceberg.flink.FlinkSchemaUtil;

/**
 * Creates a lake table in its Iceberg catalog before the job writes to it, when it is missing.
 *
 * <p>Why here and not in the sink's DDL: Flink's DDL can only partition by columns, while the
 * lake's tables are partitioned by a transform of their event time ({@code hour(event_time)}),
 * Iceberg's hidden partitioning, which readers prune on without knowing the layout. The
 * columns are the Flink sink table's (sql/50_sinks/snk_lake__*.sql), so the SQL stays the one
 * declaration of each table's schema. An existing table is left as it is: its schema evolves
 * by Iceberg's own schema updates, never by re-creation.
 *
 * <p>The catalog is loaded with the same options the sink's {@code 'connector' = 'iceberg'}
 * uses ({@code catalog-impl} and its properties), so the job creates the table exactly where
 * it then writes. An instance method: Python reaches it through a loaded class's
 * newInstance().
 */
public final class LakeTables {

    /**
     * Ensure the table behind sink table {@code sinkTable} exists.
     *
     * @param options the sink's connector options: catalog-name, catalog-impl,
     *     catalog-database, catalog-table and the catalog's own properties
     * @param transform "hour" or "day"
     * @param timeColumn the timestamp column the partitions are computed from
     * @return true when the table was created, false when it existed
     */
    public boolean ensure(StreamTableEnvironment tEnv, String sinkTable,
            Map<String, String> options, String transform, String timeColumn) {
        Map<String, String> properties = new HashMap<>(options);
        properties.remove("connector");
        String name = require(properties.remove("catalog-name"), "catalog-name");
        String impl = require(properties.remove("catalog-impl"), "catalog-impl");
        Namespace namespace = Namespace.of(
                require(properties.remove("catalog-database"), "catalog-database"));
        TableIdentifier id = TableIdentifier.of(namespace,
                require(properties.remove("catalog-table"), "catalog-table"));

        Catalog catalog = CatalogLoader.custom(name, properties,
                FlinkCatalogFactory.clusterHadoopConf(), impl).loadCatalog();
        if (catalog.tableExists(id)) {
            return false;
        }
        if (catalog instanceof SupportsNamespaces) {
            SupportsNamespaces namespaces = (SupportsNamespaces) catalog;
            if (!namespaces.namespaceExists(namespace)) {
                namespaces.createNamespace(namespace);
            }
        }
        ResolvedSchema columns = tEnv.from(sinkTable).getResolvedSchema();
        Schema schema = FlinkSchemaUtil.convert(columns);
        catalog.createTable(id, schema, spec(schema, transform, timeColumn),
                Map.of("format-version", "2", "write.format.default", "parquet"));
        return true;
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

    private static String require(String value, String option) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("an Iceberg lake sink needs '" + option + "'");
        }
        return value;
    }
}
