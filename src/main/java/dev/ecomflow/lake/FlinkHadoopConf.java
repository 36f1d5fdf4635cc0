package dev.ecomflow.lake;

import org.apache.hadoop.conf.Configuration;

/**
 * Iceberg's Flink catalog factory asks Flink's {@code org.apache.flink.runtime.util.HadoopUtils}
 * for a Hadoop configuration while the job is planned. That class lives in the Flink runtime,
 * loaded parent-first, so it looks for Hadoop on the cluster's own classpath, where MSF (and a
 * cluster without Hadoop, such as {@code ecomflow run --package}'s) has none: planning failed
 * with {@code NoClassDefFoundError: org/apache/hadoop/conf/Configuration}. The uber-jar's shade
 * step points Iceberg's calls here instead (pom.xml, relocations); this class is the job's, so
 * Hadoop's classes are found in the uber-jar. (AWS's MSF Iceberg SQL example also relocates
 * {@code org.apache.hadoop.conf}; here that breaks Iceberg's HadoopFileIO, whose serialised
 * lambdas name the original class, and with it every table in a local folder.)
 */
public final class FlinkHadoopConf {

    private FlinkHadoopConf() {
    }

    /** Hadoop's defaults, from the jar: the job sets no Hadoop options (Iceberg's own do). */
    public static Configuration getHadoopConfiguration(
            org.apache.flink.configuration.Configuration flinkConfiguration) {
        return new Configuration();
    }
}
