using System.CommandLine;
using System.Globalization;
using Elmo.Core;

namespace Elmo.Cli.Commands;

/// <summary><c>elmo compare A B</c>: per-dataset differences of two HDF5 files and a verdict (exit code 0 only when all match).</summary>
internal static class CompareCommand
{
    public static Command Create(CliConsole console)
    {
        var first = new Argument<string>("A") { Description = "HDF5 file under test (e.g. our output)." };
        var second = new Argument<string>("B") { Description = "Reference HDF5 file (e.g. AllenNLP's output); tolerances are relative to its values." };
        var atol = new Option<double>("--atol") { Description = "Absolute tolerance.", DefaultValueFactory = _ => 1e-6, HelpName = "X" };
        var rtol = new Option<double>("--rtol") { Description = "Relative tolerance.", DefaultValueFactory = _ => 1e-5, HelpName = "Y" };
        var differencesOnly = new Option<bool>("--only-differences") { Description = "List only the datasets that do not match." };
        var ignore = new Option<string[]>("--ignore") { Description = "Leave this dataset out of the comparison (repeatable), e.g. sentence_to_index when one file has none.", HelpName = "DATASET" };
        var command = new ElmoCommand("compare", "Compare two HDF5 files dataset by dataset (numpy.allclose); exit code 0 only when all match.", """
            Compare every dataset of two HDF5 files as numpy.allclose(A, B, rtol, atol) does: |a - b| <= atol + rtol * |b|
            for every element (NaN never matches). Prints each dataset's largest absolute difference and a verdict;
            a dataset missing from either file, or with another shape or type, is a mismatch. String datasets
            (sentence_to_index) must be equal. Exit code 0 only when everything matches, 1 otherwise.

            Examples:
              elmo compare ours.hdf5 allennlp.hdf5
              elmo compare ours.hdf5 reference.hdf5 --atol 1e-5 --rtol 1e-4 --only-differences
              elmo compare ours.hdf5 allennlp.hdf5 --ignore sentence_to_index
            """)
        {
            first, second, atol, rtol, differencesOnly, ignore,
        };
        command.SetAction(parsed =>
        {
            double a = parsed.GetValue(atol), r = parsed.GetValue(rtol);
            if (!(a >= 0) || !(r >= 0) || double.IsInfinity(a) || double.IsInfinity(r)) throw new UsageException("--atol and --rtol must be non-negative numbers.");
            string pathA = parsed.GetValue(first)!, pathB = parsed.GetValue(second)!;
            bool onlyDifferences = parsed.GetValue(differencesOnly);
            var ignored = new HashSet<string>(parsed.GetValue(ignore) ?? [], StringComparer.Ordinal);
            var ignoredSeen = new HashSet<string>(StringComparer.Ordinal);
            int total = 0, bad = 0;
            double worst = 0;
            string? firstBad = null;
            foreach (var c in Hdf5Comparison.Compare(pathA, pathB, a, r))
            {
                console.Cancellation.ThrowIfCancellationRequested();
                if (ignored.Contains(c.Name))
                {
                    ignoredSeen.Add(c.Name);
                    continue;
                }
                total++;
                if (c.MaxAbsDiff is double d && !double.IsNaN(worst) && (double.IsNaN(d) || d > worst)) worst = d; // NaN, once seen, stays
                if (!c.IsMatch)
                {
                    bad++;
                    firstBad ??= c.Name;
                }
                if (onlyDifferences && c.IsMatch) continue;
                string diff = c.MaxAbsDiff is double m ? m.ToString("0.###e+00", CultureInfo.InvariantCulture) : "-";
                console.Out.WriteLine($"{c.Name,-20} {Verdict(c.Status),-17} max abs diff {diff,-11}{(c.Detail is null ? "" : "  " + c.Detail)}");
            }
            foreach (string name in ignored.Where(n => !ignoredSeen.Contains(n)).Order(StringComparer.Ordinal))
            {
                console.Error.WriteLine($"elmo: --ignore {name}: neither file has a dataset '{name}'.");
            }
            string tolerance = string.Create(CultureInfo.InvariantCulture, $"atol {a:g}, rtol {r:g}")
                + (ignoredSeen.Count > 0 ? $"; ignored: {string.Join(", ", ignoredSeen.Order(StringComparer.Ordinal))}" : "");
            string worstText = worst.ToString("0.###e+00", CultureInfo.InvariantCulture);
            if (bad == 0)
            {
                console.Out.WriteLine($"MATCH: all {total} dataset(s) agree ({tolerance}; largest abs diff {worstText}).");
                return ElmoCli.Success;
            }
            console.Out.WriteLine($"DIFFERENT: {bad} of {total} dataset(s) do not match ({tolerance}; first: {firstBad}; largest abs diff {worstText}).");
            return ElmoCli.BadInput;
        });
        return command;
    }

    private static string Verdict(ComparisonStatus s) => s switch
    {
        ComparisonStatus.Match => "ok",
        ComparisonStatus.Mismatch => "MISMATCH",
        ComparisonStatus.ShapeMismatch => "SHAPE MISMATCH",
        ComparisonStatus.TypeMismatch => "TYPE MISMATCH",
        ComparisonStatus.MissingInFirst => "MISSING IN A",
        ComparisonStatus.MissingInSecond => "MISSING IN B",
        _ => "NOT COMPARABLE",
    };
}
