using System.CommandLine;
using System.Globalization;
using Elmo.Core;

namespace Elmo.Cli.Commands;

/// <summary><c>elmo merge OUTPUT PART...</c>: joins the parts of a split run into the file one run writes.</summary>
internal static class MergeCommand
{
    private const string Examples = """
        Examples:
          elmo merge out.hdf5 part-1.hdf5 part-2.hdf5 part-3.hdf5 part-4.hdf5
          elmo merge out.hdf5 parts/                 (every file of the directory)
          elmo merge out.hdf5 'parts/part-*.hdf5'    (a pattern, also expanded when quoted)

        The parts come from 'elmo embed INPUT PART --shard K/N' for K = 1..N. They are checked before anything is
        written (same input, model, settings and N; none missing, given twice or overlapping; each complete and
        undamaged), then streamed into OUTPUT, which is byte for byte the file one 'elmo embed' run writes.
        """;

    public static Command Create(CliConsole console)
    {
        var output = new Argument<string>("OUTPUT") { Description = "HDF5 file to write (replaced only when the merge succeeds)." };
        var parts = new Argument<string[]>("PART") { Description = "Part files, directories of parts, or patterns such as 'parts/*.hdf5'.", Arity = ArgumentArity.OneOrMore };
        var quiet = new Option<bool>("--quiet") { Description = "No summary on stderr." };
        var command = new ElmoCommand("merge", "Merge the parts of a split 'elmo embed --shard K/N' run into one output, exactly as one run writes it.", Examples)
        {
            output, parts, quiet,
        };
        command.SetAction(parsed =>
        {
            string outputPath = parsed.GetValue(output)!;
            var files = PartMerger.FindParts(parsed.GetValue(parts)!);
            OutputPath.Check(outputPath, "OUTPUT", files.Select(f => new InputFile(f, "a part")));
            var done = PartMerger.Merge(files, outputPath, console.Cancellation);
            if (!parsed.GetValue(quiet))
            {
                double seconds = done.Elapsed.TotalSeconds;
                console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"elmo: merged {done.Parts} parts, {done.Sentences} sentences, {done.Bytes} bytes in {seconds:F2} s ({(seconds > 0 ? done.Bytes / seconds / 1e6 : 0):F0} MB/s) -> {outputPath}"));
            }
            return ElmoCli.Success;
        });
        return command;
    }
}
