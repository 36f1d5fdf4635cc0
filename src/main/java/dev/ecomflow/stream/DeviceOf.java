package dev.ecomflow.stream;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.types.Row;

import dev.ecomflow.enrich.UserAgents;

/** Device class, browser and OS of each on-time event's user agent (see UserAgents). */
final class DeviceOf extends RichMapFunction<Row, Row> {

    private static final long serialVersionUID = 1L;
    private transient UserAgents agents;

    @Override
    public void open(OpenContext context) {
        agents = UserAgents.load();
    }

    @Override
    public Row map(Row row) {
        Object agent = row.getField(Records.USER_AGENT);
        if (agent != null && !((String) agent).isEmpty()
                && Records.ON_TIME.equals(Records.outcome(row))) {
            String[] device = agents.classify((String) agent);
            row.setField(Records.UA_DEVICE_CLASS, device[0]);
            row.setField(Records.UA_BROWSER, device[1]);
            row.setField(Records.UA_OS, device[2]);
        }
        return row;
    }
}
