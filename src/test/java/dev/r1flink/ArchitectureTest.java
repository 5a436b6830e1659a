package dev.r1flink;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Package boundaries that matter: the engine stands on its own, without Flink, so it can be used and benchmarked alone. */
class ArchitectureTest {

    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.r1flink");

    @Test
    void engineLayersDoNotDependOnFlinkKafkaOrTheJob() {
        noClasses().that().resideInAnyPackage("dev.r1flink.gguf..", "dev.r1flink.tensor..", "dev.r1flink.tokenizer..",
                        "dev.r1flink.model..", "dev.r1flink.engine..")
                .should().dependOnClassesThat().resideInAnyPackage("org.apache.flink..", "org.apache.kafka..",
                        "org.apache.avro..", "dev.r1flink.job..", "dev.r1flink.local..", "dev.r1flink.cli..")
                .allowEmptyShould(true)
                .check(CLASSES);
    }

    @Test
    void layersOnlyLookDown() {
        noClasses().that().resideInAnyPackage("dev.r1flink.gguf..", "dev.r1flink.tensor..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.r1flink.tokenizer..", "dev.r1flink.model..",
                        "dev.r1flink.engine..")
                .allowEmptyShould(true)
                .check(CLASSES);
        noClasses().that().resideInAnyPackage("dev.r1flink.model..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.r1flink.engine..")
                .allowEmptyShould(true)
                .check(CLASSES);
    }

    @Test
    void theSqlProviderUsesFlinksPublicTableApiOnly() {
        // The planner runs in its own class loader (flink-table-planner-loader): its classes are not ours to use.
        noClasses().should().dependOnClassesThat().resideInAnyPackage("org.apache.flink.table.planner..",
                        "org.apache.flink.table.runtime..", "org.apache.calcite..")
                .check(CLASSES);
    }
}
