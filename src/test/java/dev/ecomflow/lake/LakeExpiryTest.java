package dev.ecomflow.lake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dead letters older than their retention go by whole hours, in a metadata commit; the hour
 * the cutoff falls in and everything after stay, and a second run deletes nothing.
 */
class LakeExpiryTest {

    private static final Schema SCHEMA = new Schema(
            Types.NestedField.optional(1, "payload", Types.StringType.get()),
            Types.NestedField.optional(2, "received_at", Types.TimestampType.withoutZone()));
    private static final LocalDateTime TEN = LocalDateTime.of(2025, 7, 16, 10, 0);

    @TempDir
    Path warehouse;

    @Test
    void wholeHoursBeforeTheCutoffGoAndNothingElse() throws IOException {
        Table table = TestTables.create(warehouse, SCHEMA,
                LakeTables.spec(SCHEMA, "hour", "received_at"));
        // One file per hour: 10:xx (two rows), 11:xx, 12:xx.
        TestTables.append(table, List.of(new Object[] {"a", TEN.plusMinutes(5)},
                new Object[] {"b", TEN.plusMinutes(59)}));
        TestTables.append(table, List.<Object[]>of(new Object[] {"c", TEN.plusMinutes(70)}));
        TestTables.append(table, List.<Object[]>of(new Object[] {"d", TEN.plusMinutes(125)}));

        // 12:10 is rounded down to 12:00: the 10:00 and 11:00 hours go, 12:xx stays.
        long cutoff = TEN.plusMinutes(130).toInstant(ZoneOffset.UTC).toEpochMilli();
        assertEquals(Map.of("files_deleted", 2L, "rows_deleted", 3L),
                LakeExpiry.expire(table, "received_at", cutoff));
        table.refresh();
        assertEquals(List.of("d"), payloads(table));
        long snapshot = table.currentSnapshot().snapshotId();

        assertEquals(Map.of("files_deleted", 0L, "rows_deleted", 0L),
                LakeExpiry.expire(table, "received_at", cutoff));
        table.refresh();
        assertEquals(snapshot, table.currentSnapshot().snapshotId(), "nothing committed");
    }

    @Test
    void aTableNotPartitionedByTheHourIsRefused() {
        Table table = TestTables.create(warehouse, SCHEMA, PartitionSpec.unpartitioned());
        assertThrows(IllegalArgumentException.class,
                () -> LakeExpiry.expire(table, "received_at", 0L));
    }

    private static List<String> payloads(Table table) throws IOException {
        List<String> payloads = new ArrayList<>();
        for (Record row : TestTables.rows(IcebergGenerics.read(table).build())) {
            payloads.add((String) row.getField("payload"));
        }
        payloads.sort(null);
        return payloads;
    }
}
