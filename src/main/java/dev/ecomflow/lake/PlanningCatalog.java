package dev.ecomflow.lake;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.inmemory.InMemoryCatalog;

/**
 * A catalog kept in this JVM's memory, one for all its instances ({@code Lake.catalog=memory}):
 * for planning the job where no catalog can be reached ({@code ecomflow deploy}'s state maps,
 * plan tests). Iceberg's Flink sink looks its table up while the job is planned, and loads the
 * catalog anew for each look-up; Iceberg's own {@link InMemoryCatalog} would forget a table
 * between two of them, so every instance here delegates to one shared catalog. Nothing is kept
 * beyond the process; tables and files live in memory (Iceberg's in-memory FileIO).
 */
public final class PlanningCatalog implements Catalog, SupportsNamespaces {

    private static final InMemoryCatalog SHARED = new InMemoryCatalog();

    static {
        SHARED.initialize("planning", Map.of());
    }

    @Override
    public void initialize(String name, Map<String, String> properties) {
        // The shared catalog is initialised once; the options only name things.
    }

    @Override
    public String name() {
        return SHARED.name();
    }

    @Override
    public List<TableIdentifier> listTables(Namespace namespace) {
        return SHARED.listTables(namespace);
    }

    @Override
    public Table createTable(TableIdentifier id, Schema schema, PartitionSpec spec,
            String location, Map<String, String> properties) {
        return SHARED.createTable(id, schema, spec, location, properties);
    }

    @Override
    public Table createTable(TableIdentifier id, Schema schema, PartitionSpec spec,
            Map<String, String> properties) {
        return SHARED.createTable(id, schema, spec, properties);
    }

    @Override
    public Table createTable(TableIdentifier id, Schema schema, PartitionSpec spec) {
        return SHARED.createTable(id, schema, spec);
    }

    @Override
    public Table createTable(TableIdentifier id, Schema schema) {
        return SHARED.createTable(id, schema);
    }

    @Override
    public TableBuilder buildTable(TableIdentifier id, Schema schema) {
        return SHARED.buildTable(id, schema);
    }

    @Override
    public boolean tableExists(TableIdentifier id) {
        return SHARED.tableExists(id);
    }

    @Override
    public boolean dropTable(TableIdentifier id, boolean purge) {
        return SHARED.dropTable(id, purge);
    }

    @Override
    public void renameTable(TableIdentifier from, TableIdentifier to) {
        SHARED.renameTable(from, to);
    }

    @Override
    public Table loadTable(TableIdentifier id) {
        return SHARED.loadTable(id);
    }

    @Override
    public void createNamespace(Namespace namespace, Map<String, String> metadata) {
        SHARED.createNamespace(namespace, metadata);
    }

    @Override
    public List<Namespace> listNamespaces(Namespace namespace) {
        return SHARED.listNamespaces(namespace);
    }

    @Override
    public Map<String, String> loadNamespaceMetadata(Namespace namespace) {
        return SHARED.loadNamespaceMetadata(namespace);
    }

    @Override
    public boolean dropNamespace(Namespace namespace) {
        return SHARED.dropNamespace(namespace);
    }

    @Override
    public boolean setProperties(Namespace namespace, Map<String, String> properties) {
        return SHARED.setProperties(namespace, properties);
    }

    @Override
    public boolean removeProperties(Namespace namespace, Set<String> properties) {
        return SHARED.removeProperties(namespace, properties);
    }
}
