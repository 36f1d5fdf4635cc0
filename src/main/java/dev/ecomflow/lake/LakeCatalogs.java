package dev.ecomflow.lake;

import java.util.HashMap;
import java.util.Map;

import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.flink.CatalogLoader;
import org.apache.iceberg.flink.FlinkCatalogFactory;

/**
 * The lake's Iceberg catalog from a lake sink's connector options ({@code catalog-name},
 * {@code catalog-impl} and the catalog's own properties; the sink's {@code connector},
 * {@code catalog-database} and {@code catalog-table} are not the catalog's), loaded as the
 * sink loads it. One place for the job's table creation, maintenance and erasure.
 */
final class LakeCatalogs {

    private LakeCatalogs() {}

    static Catalog load(Map<String, String> options) {
        Map<String, String> properties = new HashMap<>(options);
        for (String sinkOnly : new String[] {"connector", "catalog-database", "catalog-table"}) {
            properties.remove(sinkOnly);
        }
        String name = require(properties.remove("catalog-name"), "catalog-name");
        String impl = require(properties.remove("catalog-impl"), "catalog-impl");
        return CatalogLoader.custom(name, properties, FlinkCatalogFactory.clusterHadoopConf(),
                impl).loadCatalog();
    }

    static Table table(Map<String, String> options, String database, String table) {
        return load(options).loadTable(TableIdentifier.of(database, table));
    }

    static String require(String value, String option) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("an Iceberg lake needs '" + option + "'");
        }
        return value;
    }
}
