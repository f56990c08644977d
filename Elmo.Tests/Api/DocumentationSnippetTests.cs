using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using Elmo.Core;
using Elmo.Tests.Support;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Elmo.Tests.Api;

/// <summary>
/// Compiles and runs the C# snippets of the README and of docs/from-allennlp.md as they are written, so the pages
/// cannot go stale. Each README block is the whole <c>Program.cs</c> of a console app that references Elmo.Core (the
/// SDK's implicit usings, nullable on, warnings are failures); each from-allennlp.md example runs after that page's
/// first block. Compiled in process with Roslyn against the Elmo.Core the tests use, run in a collectible load
/// context with the console captured.
/// </summary>
/// <remarks>
/// The README's first block must run offline with nothing around it: it runs in an empty directory with an empty
/// cache. The others run in a directory holding the tiny reference model as <c>elmo_options.json</c> /
/// <c>elmo_weights.hdf5</c> and <c>options.json</c> / <c>weights.hdf5</c>, with a cache in which every published
/// model's URLs hold that tiny model, so <c>ElmoModel.FromPublished</c> runs without a network.
/// </remarks>
[NonParallelizable]
public partial class DocumentationSnippetTests
{
    /// <summary>What <c>ImplicitUsings</c> gives a console app (Microsoft.NET.Sdk).</summary>
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    private static readonly Lazy<MetadataReference[]> References = new(() =>
    {
        // The shared framework, plus Elmo.Core and what it brings (a project or package reference gives these).
        string framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        string[] elmo = ["Elmo.Core", "Elmo.Kernels", "PureHDF", "System.Numerics.Tensors"];
        var paths = Directory.EnumerateFiles(framework, "*.dll")
            .Where(p => !elmo.Contains(Path.GetFileNameWithoutExtension(p)))
            .Concat(elmo.Select(name => Path.Combine(AppContext.BaseDirectory, name + ".dll")));
        return paths.Where(IsManaged).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();
    });

    public static IEnumerable<TestCaseData> ReadmeSnippets() =>
        Blocks("README.md").Select((code, i) => new TestCaseData(i, code).SetName($"README block {i}"));

    public static IEnumerable<TestCaseData> AllenNlpSnippets()
    {
        var blocks = Blocks("docs/from-allennlp.md");
        return blocks.Skip(1).Select((code, i) => new TestCaseData(blocks[0], code).SetName($"from-allennlp.md example {i + 1}: {FirstLine(code)}"));
    }

    [Test]
    public void ThePagesHaveTheirSnippets()
    {
        var readme = Blocks("README.md");
        Assert.That(readme, Has.Count.GreaterThanOrEqualTo(3));
        Assert.That(readme[0], Does.Contain("ElmoModel.Demo()"), "the README's first snippet starts from the demo model");
        Assert.That(Blocks("docs/from-allennlp.md"), Has.Count.GreaterThanOrEqualTo(13), "a prelude and one example per entry point");
    }

    [TestCaseSource(nameof(ReadmeSnippets))]
    public void ReadmeSnippetRunsAsTheWholeProgram(int index, string code)
    {
        string output = CompileAndRun(code, prepared: index != 0);
        if (index == 0)
        {
            Assert.That(output, Does.Contain("shape (3, 4, 128)"), output);
            Assert.That(output, Does.Contain("sentence 1: 6 tokens x 128 values"), output);
        }
    }

    [TestCaseSource(nameof(AllenNlpSnippets))]
    public void AllenNlpExampleRuns(string prelude, string code)
    {
        Assert.That(code.Trim().Split('\n'), Has.Length.LessThanOrEqualTo(2), "two lines per example");
        CompileAndRun(prelude.TrimEnd() + "\n" + code, prepared: true);
    }

    /// <summary>The ```csharp blocks of a page, in order.</summary>
    private static List<string> Blocks(string page)
    {
        string text = File.ReadAllText(Path.Combine(Reference.RepoRoot, page));
        return CSharpBlock().Matches(text).Select(m => m.Groups["code"].Value).ToList();
    }

    private static string FirstLine(string code) => code.Split('\n')[0].Trim() is var line && line.Length > 60 ? line[..57] + "..." : code.Split('\n')[0].Trim();

    /// <summary>Compiles <paramref name="code"/> as a console app's Program.cs and runs it; returns what it printed.</summary>
    private static string CompileAndRun(string code, bool prepared)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create(
            "Snippet" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(ImplicitUsings, parse, "GlobalUsings.g.cs"), CSharpSyntaxTree.ParseText(code, parse, "Program.cs")],
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable)
                .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic> { ["CS1701"] = ReportDiagnostic.Suppress, ["CS1702"] = ReportDiagnostic.Suppress }));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        var problems = emitted.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()).ToList();
        Assert.That(problems, Is.Empty, $"The snippet does not compile cleanly:\n{code}");
        Assert.That(emitted.Success, Is.True);

        using var dir = new Cli.TempDir();
        string cache = Directory.CreateDirectory(Path.Combine(dir.Path, ".cache")).FullName;
        string work = Directory.CreateDirectory(Path.Combine(dir.Path, "work")).FullName;
        if (prepared) Prepare(work, cache);

        var context = new AssemblyLoadContext("snippet", isCollectible: true);
        string previousDirectory = Environment.CurrentDirectory;
        string? previousCache = Environment.GetEnvironmentVariable(ModelCache.EnvironmentVariable);
        var (previousOut, previousError) = (Console.Out, Console.Error);
        var printed = new StringWriter();
        try
        {
            Environment.CurrentDirectory = work;
            Environment.SetEnvironmentVariable(ModelCache.EnvironmentVariable, cache);
            Console.SetOut(printed);
            Console.SetError(printed);
            image.Position = 0;
            var entry = context.LoadFromStream(image).EntryPoint!;
            entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
        }
        catch (TargetInvocationException e)
        {
            Assert.Fail($"The snippet threw {e.InnerException}\n{code}\nIt printed:\n{printed}");
        }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousError);
            Environment.SetEnvironmentVariable(ModelCache.EnvironmentVariable, previousCache);
            Environment.CurrentDirectory = previousDirectory;
            context.Unload();
        }
        TestContext.Out.Write(printed.ToString());
        return printed.ToString();
    }

    /// <summary>The files the snippets name, and a cache where every published model is the tiny reference model.</summary>
    private static void Prepare(string work, string cacheDirectory)
    {
        foreach (var (name, source) in new[] { ("options.json", Reference.FixtureOptions), ("weights.hdf5", Reference.FixtureWeights) })
        {
            File.Copy(source, Path.Combine(work, name));
            File.Copy(source, Path.Combine(work, "elmo_" + name));
        }
        var cache = new ModelCache(cacheDirectory);
        foreach (var published in PublishedModels.All)
        {
            foreach (var (url, source) in new[] { (published.OptionsUrl, Reference.FixtureOptions), (published.WeightsUrl, Reference.FixtureWeights) })
            {
                Directory.CreateDirectory(Path.GetDirectoryName(cache.PathFor(url))!);
                File.Copy(source, cache.PathFor(url));
            }
        }
    }

    private static bool IsManaged(string path)
    {
        try
        {
            AssemblyName.GetAssemblyName(path);
            return true;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"```csharp\r?\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
