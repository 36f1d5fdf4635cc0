package dev.ecomflow.udf;

import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * SWITCHED_ON(name): whether the optional step `name` is on, read from the job parameter
 * `ecomflow.switch.<name>` ("true" unless set to "false").
 *
 * <p>Why not a literal TRUE/FALSE in the SQL: the planner folds a constant switch, and with it the
 * columns and aggregates that depend on it, so the two settings of a switch had differently laid
 * out state and a savepoint of one could not be restored into the other. Read at run time
 * (non-deterministic, never folded), a switch changes values only: an upgrade that turns a step
 * on or off restores every operator's state.
 */
public class SwitchedOn extends ScalarFunction {

    public static final String PREFIX = "ecomflow.switch.";

    private transient FunctionContext context;
    // The last switch read, and its value: the job's parameters do not change while it runs,
    // and every record of every view that names a switch calls this.
    private transient String lastName;
    private transient boolean lastValue;

    @Override
    public void open(FunctionContext context) {
        this.context = context;
    }

    @Override
    public boolean isDeterministic() {
        return false;
    }

    public Boolean eval(String name) {
        if (name == null || !name.equals(lastName)) {
            String value = context == null ? null : context.getJobParameter(PREFIX + name, "true");
            lastValue = !"false".equalsIgnoreCase(value);
            lastName = name;
        }
        return lastValue;
    }
}
