package dev.r1flink.tokenizer;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The tokenizer reads GGUF metadata and nothing else: usable by the engine, the job and tools alike. */
class TokenizerArchitectureTest {

    @Test
    void tokenizerDependsOnlyOnTheJdkAndGguf() {
        JavaClasses classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.r1flink.tokenizer");
        classes().that().resideInAPackage("dev.r1flink.tokenizer..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("java..", "dev.r1flink.tokenizer..", "dev.r1flink.gguf..")
                .check(classes);
    }
}
