package dev.r1flink.sql;

import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;

import java.util.ArrayList;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A SQL file ({@code jobs/*.sql}) as Flink runs it: {@code ${name}} or {@code ${name:default}} placeholders
 * filled in, split into statements at top-level semicolons ({@code EXECUTE STATEMENT SET BEGIN ... END;} stays
 * one statement), and executed one after the other; {@code SET 'key' = 'value'} sets the table configuration, as
 * in Flink's SQL client.
 *
 * <pre>{@code
 * String sql = SqlScript.substitute(Files.readString(file), Map.of("bootstrap-servers", "kafka:9092"));
 * TableResult job = SqlScript.execute(tableEnv, SqlScript.statements(sql));
 * job.getJobClient().ifPresent(...);
 * }</pre>
 */
public final class SqlScript {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z0-9_.-]+)(?::([^}]*))?}");
    private static final Pattern STATEMENT_SET = Pattern.compile("^(EXECUTE\\s+)?(STATEMENT\\s+SET|BEGIN\\s+STATEMENT\\s+SET)\\b.*",
            Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    private static final Pattern SET = Pattern.compile("^SET\\s+'([^']+)'\\s*=\\s*'((?:[^']|'')*)'$",
            Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    private static final Pattern ENDS_WITH_END = Pattern.compile(".*\\bEND\\s*$", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

    private SqlScript() {
    }

    /** @throws IllegalArgumentException naming every placeholder that has neither a value nor a default */
    public static String substitute(String sql, Map<String, String> values) {
        Matcher m = PLACEHOLDER.matcher(sql);
        StringBuilder out = new StringBuilder();
        TreeSet<String> missing = new TreeSet<>();
        while (m.find()) {
            String v = values.containsKey(m.group(1)) ? values.get(m.group(1)) : m.group(2);
            if (v == null) {
                missing.add(m.group(1));
                v = m.group();
            }
            m.appendReplacement(out, Matcher.quoteReplacement(v));
        }
        m.appendTail(out);
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("no value for " + missing + " in the SQL file; give each with "
                    + "-D name=value");
        }
        return out.toString();
    }

    /** The statements of {@code sql}, without comments and the semicolons that end them. */
    public static java.util.List<String> statements(String sql) {
        java.util.List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        int n = sql.length();
        for (int i = 0; i < n; i++) {
            char c = sql.charAt(i);
            if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
                while (i < n && sql.charAt(i) != '\n') i++;
                cur.append('\n');
            } else if (c == '\'' || c == '`' || c == '"') {
                int j = i + 1;
                while (j < n) {
                    if (sql.charAt(j) == c) {
                        if (j + 1 < n && sql.charAt(j + 1) == c) {
                            j += 2; // a doubled quote stands for itself
                            continue;
                        }
                        break;
                    }
                    j++;
                }
                cur.append(sql, i, Math.min(n, j + 1));
                i = j;
            } else if (c == ';') {
                String s = cur.toString().trim();
                if (STATEMENT_SET.matcher(s).matches() && !ENDS_WITH_END.matcher(s).matches()) {
                    cur.append(c);
                    continue;
                }
                if (!s.isEmpty()) out.add(s);
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        String rest = cur.toString().trim();
        if (!rest.isEmpty()) out.add(rest);
        return out;
    }

    /**
     * Executes {@code statements} in order; returns the result of the last one that started a job (an
     * {@code INSERT} or a statement set), or of the last statement when none did.
     */
    public static TableResult execute(TableEnvironment env, java.util.List<String> statements) {
        TableResult last = null, job = null;
        for (String s : statements) {
            Matcher set = SET.matcher(s);
            if (set.matches()) {
                // the SQL client's SET, which TableEnvironment.executeSql does not take
                env.getConfig().set(set.group(1), set.group(2).replace("''", "'"));
                continue;
            }
            try {
                last = env.executeSql(s);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("statement failed: " + firstLine(s) + "\n  " + e.getMessage(), e);
            }
            if (last.getJobClient().isPresent()) job = last;
        }
        return job != null ? job : last;
    }

    /** The plan of {@code statement}; a statement set is explained as one plan of all its INSERTs. */
    public static String explain(TableEnvironment env, String statement) {
        String s = statement.strip();
        if (!STATEMENT_SET.matcher(s).matches()) return env.explainSql(s);
        int begin = s.toUpperCase(java.util.Locale.ROOT).indexOf("BEGIN");
        int end = s.toUpperCase(java.util.Locale.ROOT).lastIndexOf("END");
        var set = env.createStatementSet();
        for (String insert : statements(s.substring(begin + "BEGIN".length(), end))) set.addInsertSql(insert);
        return set.explain();
    }

    private static String firstLine(String s) {
        String l = s.strip().lines().findFirst().orElse("");
        return l.length() > 100 ? l.substring(0, 100) + "..." : l;
    }
}
