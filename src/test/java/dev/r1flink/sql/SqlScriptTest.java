package dev.r1flink.sql;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SqlScriptTest {

    @Test
    void splitsAtTopLevelSemicolonsAndKeepsStatementSetsWhole() {
        List<String> s = SqlScript.statements("""
                -- a comment; with a semicolon
                SET 'a' = 'b;c';
                CREATE TABLE t (x STRING) WITH ('k' = 'it''s; fine', `odd;name` = 'v');
                EXECUTE STATEMENT SET
                BEGIN
                  INSERT INTO a SELECT * FROM t;  -- first
                  INSERT INTO b SELECT * FROM t;
                END;
                SELECT 1
                """);
        assertEquals(4, s.size(), s.toString());
        assertEquals("SET 'a' = 'b;c'", s.get(0));
        assertEquals("CREATE TABLE t (x STRING) WITH ('k' = 'it''s; fine', `odd;name` = 'v')", s.get(1));
        assertTrue(s.get(2).startsWith("EXECUTE STATEMENT SET") && s.get(2).endsWith("END"), s.get(2));
        assertTrue(s.get(2).contains("INSERT INTO a SELECT * FROM t;") && s.get(2).contains("INSERT INTO b"), s.get(2));
        assertEquals("SELECT 1", s.get(3));
    }

    @Test
    void placeholdersTakeValuesThenDefaultsAndNameWhatIsMissing() {
        assertEquals("'kafka:9092' 'bundled:tiny-r1-arith' ''", SqlScript.substitute(
                "'${bootstrap-servers}' '${model-path:bundled:tiny-r1-arith}' '${empty:}'",
                Map.of("bootstrap-servers", "kafka:9092")));
        var e = assertThrows(IllegalArgumentException.class, () -> SqlScript.substitute("${b} ${a} ${c:x}", Map.of()));
        assertEquals("no value for [a, b] in the SQL file; give each with -D name=value", e.getMessage());
    }

    @Test
    void theShippedSqlJobParsesWithItsDefaults() throws Exception {
        List<String> s = SqlScript.statements(SqlScript.substitute(Files.readString(Path.of("jobs/local-demo.sql")),
                Map.of()));
        assertTrue(s.get(s.size() - 1).startsWith("EXECUTE STATEMENT SET"), s.get(s.size() - 1));
        assertTrue(s.stream().anyMatch(x -> x.startsWith("CREATE MODEL r1") && x.contains("'provider' = 'r1'")));
    }
}
