using System.CommandLine;
using System.Globalization;
using Elmo.Cli.Progress;
using Elmo.Core;

namespace Elmo.Cli.Commands;

/// <summary><c>elmo dump-token-embeddings VOCAB OUTPUT</c>: bilm-tf's <c>dump_token_embeddings</c>.</summary>
internal static class DumpTokenEmbeddingsCommand
{
    public static Command Create(CliConsole console)
    {
        var vocab = new Argument<string>("VOCAB") { Description = "Vocabulary: one word per line (as bilm-tf reads it: stripped; '!!!MAXTERMID' skipped)." };
        var output = new Argument<string>("OUTPUT") { Description = "HDF5 file to write: dataset 'embedding', (words, projection_dim), float32." };
        var chunk = new Option<int>("--batch-size") { Description = "Words embedded at a time (memory stays bounded for any vocabulary).", DefaultValueFactory = _ => 4096, HelpName = "N" };
        var threads = new Option<int?>("--threads") { Description = "Threads to use (default: all cores).", HelpName = "N" };
        var quiet = new Option<bool>("--quiet") { Description = "No progress and no summary on stderr." };
        var model = new ModelSource();
        var command = new ElmoCommand("dump-token-embeddings", "Write the context-independent token vectors of a vocabulary (bilm-tf's dump_token_embeddings).", """
            Write the context-independent token representation (char CNN -> highway -> projection) of every word of a
            vocabulary, as bilm-tf's dump_token_embeddings does: dataset 'embedding', row i for line i.

            Examples:
              elmo dump-token-embeddings vocab.txt token_embeddings.hdf5 --model original
              elmo dump-token-embeddings vocab.txt out.hdf5 --options options.json --weights weights.hdf5 --batch-size 1024
            """)
        {
            vocab, output, chunk, threads, quiet,
        };
        model.AddTo(command);
        command.SetAction(parsed =>
        {
            int chunkSize = parsed.GetValue(chunk);
            if (chunkSize < 1) throw new UsageException($"--batch-size must be at least 1, got {chunkSize}.");
            int? threadCount = parsed.GetValue(threads);
            if (threadCount is < 1) throw new UsageException($"--threads must be at least 1, got {threadCount}.");
            string vocabPath = parsed.GetValue(vocab)!, outputPath = parsed.GetValue(output)!;
            if (vocabPath.Length == 0) throw new UsageException("VOCAB is empty: name the vocabulary file.");
            var vocabNode = FileNode.Of(vocabPath);
            if (vocabNode.Kind == FileKind.Missing) throw new ElmoInputException($"Vocabulary file '{vocabPath}' does not exist.") { FilePath = vocabPath };
            if (vocabNode.Kind == FileKind.Directory) throw new ElmoInputException($"Vocabulary '{vocabPath}' is a directory.") { FilePath = vocabPath };
            var vocabInput = new InputFile(vocabPath, "VOCAB");
            OutputPath.Check(outputPath, "OUTPUT", [vocabInput, .. model.LocalInputs(parsed)]);
            bool isQuiet = parsed.GetValue(quiet);
            var elmo = model.Load(parsed, console, isQuiet, out ResolvedModel resolved);
            OutputPath.Check(outputPath, "OUTPUT", [vocabInput, .. resolved.Inputs]);
            var progress = new ProgressReporter(console, isQuiet);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            // The vocabulary is read twice (count, then embed): a pipe (<(cmd), a FIFO) is copied once into a temporary file.
            using var spool = vocabNode.Kind is FileKind.Fifo or FileKind.CharacterDevice or FileKind.Socket ? Spool(vocabPath) : null;
            long words = TokenEmbeddingDump.Run(elmo, spool?.Path ?? vocabPath, outputPath, chunkSize, threadCount, (done, total) =>
                progress.Update(total > 0 ? (double)done / total : 1, () => string.Create(CultureInfo.InvariantCulture, $"{done}/{total} words"), force: done == total),
                console.Cancellation);
            progress.Finish();
            if (!isQuiet)
            {
                console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"elmo: {words} token embeddings of dimension {elmo.Options.Lstm.ProjectionDim} in {watch.Elapsed.TotalSeconds:F2} s -> {outputPath}"));
            }
            return ElmoCli.Success;
        });
        return command;
    }

    private static TemporaryFile Spool(string path)
    {
        string directory = Path.GetTempPath();
        TemporaryFiles.RemoveStale(directory, "elmo-input");
        var spool = TemporaryFiles.Create(directory, "elmo-input");
        try
        {
            using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
            using var copy = new FileStream(spool.Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16);
            source.CopyTo(copy);
            return spool;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            spool.Dispose();
            throw new ElmoInputException($"Cannot read vocabulary '{path}' into a temporary copy in '{directory}': {e.Message}", e) { FilePath = path };
        }
    }
}
