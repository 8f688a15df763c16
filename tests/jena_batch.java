// Runs many Apache Jena jobs in one JVM, for tests/test_jena.py (through tests/jena.py).
//
// Each Jena command (shacl, tdb2.tdbquery, ...) is a JVM of its own, and a JVM takes 1.5 to 3 s to
// start; the tests need about 170 SHACL validations and 60 queries, which as commands would take
// minutes. This file is run by Java's source launcher (`java -cp CLASSPATH jena_batch.java JOBS`,
// Java 11 or later: the JRE compiles it in memory) and calls the same library code the commands
// call: tdb2.tdbloader itself, Jena's SHACL validator, and ARQ on TDB2 with the union of the
// named graphs as default graph (what `tdb2.tdbquery --set tdb:unionDefaultGraph=true` and
// Fuseki's unionDefaultGraph do).
//
// JOBS is a file with one job per line, its fields separated by tabs:
//   load      DIR  FILE                 tdb2.tdbloader --loc DIR FILE
//   shapes    FILE...                   the shapes graph (the files merged) for the validations that follow
//   validate  OUT  FILE...              validate the files merged into one data graph; write Jena's
//                                       validation report graph to OUT (N-Triples)
//   query     OUT  DIR  FILE            run the query in FILE on the TDB2 store in DIR; write SPARQL
//                                       JSON results (SELECT, ASK) or N-Triples (CONSTRUCT, DESCRIBE)
// A job that fails writes its error message to OUT.error instead, and the batch goes on; the
// batch exits non-zero only when it cannot run at all.

import java.io.FileOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.jena.graph.Graph;
import org.apache.jena.query.Dataset;
import org.apache.jena.query.Query;
import org.apache.jena.query.QueryExecution;
import org.apache.jena.query.QueryExecutionFactory;
import org.apache.jena.query.QueryFactory;
import org.apache.jena.query.ResultSetFormatter;
import org.apache.jena.query.Syntax;
import org.apache.jena.rdf.model.Model;
import org.apache.jena.riot.Lang;
import org.apache.jena.riot.RDFDataMgr;
import org.apache.jena.shacl.ShaclValidator;
import org.apache.jena.shacl.Shapes;
import org.apache.jena.sparql.graph.GraphFactory;
import org.apache.jena.sys.JenaSystem;
import org.apache.jena.system.Txn;
import org.apache.jena.tdb2.TDB2;
import org.apache.jena.tdb2.TDB2Factory;

public class JenaBatch {
    public static void main(String[] args) throws Exception {
        JenaSystem.init();
        Shapes shapes = null;
        for (String line : Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            List<String> f = Arrays.asList(line.split("\t"));
            switch (f.get(0)) {
                case "load":
                    tdb2.tdbloader.main("--loc", f.get(1), f.get(2));
                    break;
                case "shapes":
                    shapes = Shapes.parse(merged(f.subList(1, f.size())));
                    break;
                case "validate":
                    try {
                        Graph report = ShaclValidator.get()
                            .validate(shapes, merged(f.subList(2, f.size()))).getGraph();
                        write(f.get(1), out -> RDFDataMgr.write(out, report, Lang.NTRIPLES));
                    } catch (Exception e) {
                        fail(f.get(1), e);
                    }
                    break;
                case "query":
                    try {
                        query(f.get(1), f.get(2), f.get(3));
                    } catch (Exception e) {
                        fail(f.get(1), e);
                    }
                    break;
                default:
                    throw new IllegalArgumentException("unknown job: " + line);
            }
        }
    }

    // Each file is parsed once: the ontology's files are in every fixture's validation.
    static final Map<String, Graph> PARSED = new HashMap<>();

    static Graph merged(List<String> files) {
        Graph graph = GraphFactory.createDefaultGraph();
        for (String file : files) {
            Graph parsed = PARSED.computeIfAbsent(file, RDFDataMgr::loadGraph);
            parsed.find().forEachRemaining(graph::add);
            graph.getPrefixMapping().setNsPrefixes(parsed.getPrefixMapping());
        }
        return graph;
    }

    static void query(String out, String location, String file) throws Exception {
        // Syntax.syntaxSPARQL_11: the standard, not ARQ's extensions, so that a query using an
        // extension fails here as it would on another engine.
        Query query = QueryFactory.read(file, Syntax.syntaxSPARQL_11);
        Dataset dataset = TDB2Factory.connectDataset(location);
        Txn.executeRead(dataset, () -> {
            try (QueryExecution exec = QueryExecutionFactory.create(query, dataset)) {
                exec.getContext().set(TDB2.symUnionDefaultGraph, true);
                if (query.isSelectType()) {
                    write(out, o -> ResultSetFormatter.outputAsJSON(o, exec.execSelect()));
                } else if (query.isAskType()) {
                    write(out, o -> ResultSetFormatter.outputAsJSON(o, exec.execAsk()));
                } else {
                    Model model = query.isConstructType() ? exec.execConstruct() : exec.execDescribe();
                    write(out, o -> RDFDataMgr.write(o, model, Lang.NTRIPLES));
                }
            }
        });
    }

    interface Writer { void to(OutputStream out) throws Exception; }

    static void write(String path, Writer writer) {
        try (OutputStream out = new FileOutputStream(path)) {
            writer.to(out);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    static void fail(String out, Exception e) throws Exception {
        Files.writeString(Path.of(out + ".error"), String.valueOf(e), StandardCharsets.UTF_8);
    }
}
