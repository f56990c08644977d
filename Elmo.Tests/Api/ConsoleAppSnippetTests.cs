using System.Text.RegularExpressions;
using Elmo.Tests.Shipping;
using Elmo.Tests.Support;

namespace Elmo.Tests.Api;

/// <summary>
/// The README's first snippet, literally as the whole <c>Program.cs</c> of a new console app (the <c>dotnet new console</c>
/// project file) with one project reference to Elmo.Core, built by the SDK (warnings are errors) and run offline in an
/// empty directory with an empty cache. <see cref="DocumentationSnippetTests"/> checks every snippet in process in
/// seconds; this is the one real build (a shipping check: ~20 s, run by CI).
/// </summary>
[Category(ShipChecks.Category)]
[NonParallelizable]
public partial class ConsoleAppSnippetTests
{
    [Test]
    public void TheReadmesFirstSnippetIsTheWholeProgramOfANewConsoleApp()
    {
        ShipChecks.Require();
        string readme = File.ReadAllText(Path.Combine(Reference.RepoRoot, "README.md"));
        string program = CSharpBlock().Match(readme).Groups["code"].Value;
        Assert.That(program, Does.StartWith("using Elmo.Core;"));

        using var dir = new Cli.TempDir();
        string app = Directory.CreateDirectory(Path.Combine(dir.Path, "app")).FullName;
        string core = Path.Combine(Reference.RepoRoot, "Elmo.Core", "Elmo.Core.csproj");
        File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="{core}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), program);

        // Elmo.Core is already built in this configuration by the test run: reference its output, do not rebuild it.
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        ShipChecks.RunOk(ShipChecks.Dotnet, ["build", "-c", configuration, "--no-dependencies", "-warnaserror", "-nologo", "-v", "q"], app, timeout: TimeSpan.FromMinutes(5));

        string empty = Directory.CreateDirectory(Path.Combine(dir.Path, "empty")).FullName;
        string cache = Directory.CreateDirectory(Path.Combine(dir.Path, "cache")).FullName;
        var run = ShipChecks.RunOk(ShipChecks.Dotnet, [Path.Combine(app, "bin", configuration, "net10.0", "app.dll")], empty,
            new Dictionary<string, string?> { ["ELMO_CACHE"] = cache }, TimeSpan.FromMinutes(2));
        Assert.That(run.Out, Does.Contain("shape (3, 4, 128)").And.Contain("sentence 1: 6 tokens x 128 values"), run.ToString());
        Assert.That(Directory.EnumerateFileSystemEntries(empty), Is.Empty, "it wrote nothing where it ran");
    }

    [GeneratedRegex(@"```csharp\r?\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
