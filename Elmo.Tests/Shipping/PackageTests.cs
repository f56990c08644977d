using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using Elmo.Tests.Cli;
using Elmo.Tests.Support;

namespace Elmo.Tests.Shipping;

/// <summary>
/// The packages as a user gets them: <c>dotnet pack</c> into a temporary folder, the metadata of each package, the
/// <c>elmo</c> tool installed from that folder into a temporary tool path and run, and Elmo.Core added to a new app.
/// Restores use a private package folder and only the freshly made packages plus the machine's package cache as
/// sources, so nothing stale is picked up and no network is needed.
/// </summary>
[TestFixture]
[Category(ShipChecks.Category)]
public class PackageTests
{
    private static readonly string[] Packages = ["Elmo.Kernels", "Elmo.Core", "elmo"];

    private string _root = "";
    private string _packages = "";
    private string _version = "";
    private Dictionary<string, string?> _environment = [];

    [OneTimeSetUp]
    public void Pack()
    {
        ShipChecks.Require();
        _root = Directory.CreateTempSubdirectory("elmo-packages-").FullName;
        _packages = Path.Combine(_root, "packages");
        _version = XDocument.Load(Path.Combine(Reference.RepoRoot, "Directory.Build.props")).Descendants("Version").Single().Value;
        _environment = new() { ["NUGET_PACKAGES"] = Path.Combine(_root, "nuget-cache") };
        var pack = ShipChecks.RunOk(ShipChecks.Dotnet, ["pack", "elmo.sln", "-c", "Release", "-o", _packages], Reference.RepoRoot, timeout: TimeSpan.FromMinutes(10));
        Assert.That(pack.Out + pack.Err, Does.Not.Contain("warning"), $"dotnet pack printed warnings\n{pack}");

        // Sources: the new packages, and the machine's package cache (a folder feed) for PureHDF and the like.
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set ? set
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(_root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="elmo" value="{_packages}" />
                <add key="cache" value="{cache}" />
              </packageSources>
            </configuration>
            """);
    }

    [OneTimeTearDown]
    public void Remove()
    {
        if (_root.Length > 0) Directory.Delete(_root, recursive: true);
    }

    private static XElement Metadata(ZipArchive package)
    {
        var nuspec = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = nuspec.Open();
        var root = XDocument.Load(stream).Root!;
        return root.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static string? Field(XElement metadata, string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

    [TestCaseSource(nameof(Packages))]
    public void PackageCarriesItsMetadata(string id)
    {
        string path = Path.Combine(_packages, $"{id}.{_version}.nupkg");
        Assert.That(File.Exists(path), Is.True, $"{path} was not made");
        Assert.That(File.Exists(Path.ChangeExtension(path, ".snupkg")), Is.True, "symbols package");
        using var package = ZipFile.OpenRead(path);
        var metadata = Metadata(package);
        var names = package.Entries.Select(e => e.FullName).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(Field(metadata, "id"), Is.EqualTo(id));
            Assert.That(Field(metadata, "version"), Is.EqualTo(_version));
            Assert.That(Field(metadata, "authors"), Is.Not.Empty);
            Assert.That(Field(metadata, "description"), Has.Length.GreaterThan(60).And.Not.EqualTo("Package Description"));
            Assert.That(Field(metadata, "license"), Is.EqualTo("Apache-2.0"));
            Assert.That(Field(metadata, "readme"), Is.EqualTo("README.md"));
            Assert.That(Field(metadata, "tags")?.Split(' '), Does.Contain("elmo"));
            var repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
            Assert.That((string?)repository.Attribute("type"), Is.EqualTo("git"));
            Assert.That((string?)repository.Attribute("commit"), Does.Match("^[0-9a-f]{40}$"));
            Assert.That(names, Does.Contain("README.md").And.Contain("LICENSE"));
        });
        using (var license = new StreamReader(package.GetEntry("LICENSE")!.Open()))
        {
            Assert.That(license.ReadToEnd(), Is.EqualTo(File.ReadAllText(Path.Combine(Reference.RepoRoot, "LICENSE"))));
        }
        if (id == "elmo")
        {
            Assert.That(metadata.Descendants().Where(e => e.Name.LocalName == "packageType").Select(e => (string?)e.Attribute("name")), Does.Contain("DotnetTool"));
        }
        else
        {
            Assert.That(names, Does.Contain($"lib/net10.0/{id}.dll").And.Contain($"lib/net10.0/{id}.xml"), "assembly and XML docs");
            Assert.That(Debuggable(package, $"lib/net10.0/{id}.dll"), Is.False, "a Release build");
        }
        if (id == "Elmo.Core")
        {
            Assert.That(names, Does.Contain("buildTransitive/Elmo.Core.targets").And.Contain("buildTransitive/Elmo.Core.rd.xml"), "the Native AOT roots travel with the package");
        }
    }

    /// <summary>True when the assembly asks the JIT not to optimise (DebuggableAttribute with DisableOptimizations).</summary>
    internal static bool Debuggable(ZipArchive package, string entry)
    {
        using var stream = new MemoryStream();
        using (var s = package.GetEntry(entry)!.Open()) s.CopyTo(stream);
        stream.Position = 0;
        return OptimizationsDisabled(stream);
    }

    /// <summary>Reads the assembly's DebuggableAttribute: true when it carries DisableOptimizations (0x100).</summary>
    internal static bool OptimizationsDisabled(Stream assembly)
    {
        using var pe = new PEReader(assembly, PEStreamOptions.LeaveOpen);
        var reader = pe.GetMetadataReader();
        foreach (var handle in reader.GetAssemblyDefinition().GetCustomAttributes())
        {
            var attribute = reader.GetCustomAttribute(handle);
            if (attribute.Constructor.Kind != HandleKind.MemberReference) continue;
            var constructor = reader.GetMemberReference((MemberReferenceHandle)attribute.Constructor);
            if (constructor.Parent.Kind != HandleKind.TypeReference) continue;
            var type = reader.GetTypeReference((TypeReferenceHandle)constructor.Parent);
            if (reader.GetString(type.Name) != "DebuggableAttribute") continue;
            // Blob: prolog 0x0001, then the DebuggingModes enum as int32 (one-argument constructor).
            var blob = reader.GetBlobReader(attribute.Value);
            blob.ReadUInt16();
            int modes = blob.ReadInt32();
            return (modes & 0x100) != 0;
        }
        return false;
    }

    [Test]
    public void OnlyTheThreePackagesAreMadeAndTheServerTravelsInTheTool()
    {
        // Elmo.Server is 'elmo serve', not a library of its own: it is not packed, and the tool carries it.
        var made = Directory.GetFiles(_packages, "*.nupkg").Select(Path.GetFileName);
        Assert.That(made, Is.EquivalentTo(Packages.Select(id => $"{id}.{_version}.nupkg")));
        using var tool = ZipFile.OpenRead(Path.Combine(_packages, $"elmo.{_version}.nupkg"));
        Assert.That(tool.Entries.Select(e => e.FullName), Does.Contain("tools/net10.0/any/Elmo.Server.dll"));
    }

    [Test]
    public void ToolInstallsFromTheFolderAndEmbeds()
    {
        string tools = Path.Combine(_root, "tools");
        var install = ShipChecks.RunOk(ShipChecks.Dotnet,
            ["tool", "install", "--tool-path", tools, "--configfile", Path.Combine(_root, "nuget.config"), "--version", _version, "elmo"],
            _root, _environment, TimeSpan.FromMinutes(5));
        Assert.That(install.Out, Does.Contain("successfully installed"));

        string sentences = Path.Combine(Reference.RepoRoot, "docs", "examples", "sentences.txt");
        string installed = Path.Combine(_root, "tool.hdf5"), jit = Path.Combine(_root, "jit.hdf5");
        var run = ShipChecks.RunOk(Path.Combine(tools, "elmo"), ["embed", sentences, installed, "--model", "demo", "--all"], _root,
            new Dictionary<string, string?> { ["ELMO_CACHE"] = Path.Combine(_root, "cache") });
        Assert.That(run.Err, Does.Contain("embedded 3 sentences"));
        Assert.That(CliHarness.Run("embed", sentences, jit, "--model", "demo", "--all", "--quiet").Exit, Is.Zero);
        Assert.That(File.ReadAllBytes(installed), Is.EqualTo(File.ReadAllBytes(jit)), "the installed tool writes what the build does");

        var serve = ShipChecks.RunOk(Path.Combine(tools, "elmo"), ["serve", "--help"], _root);
        Assert.That(serve.Out, Does.Contain("--max-batch-tokens"), "the installed tool has 'elmo serve'");
    }

    [Test]
    public void LibraryPackageWorksInANewApp()
    {
        string app = Path.Combine(_root, "app");
        Directory.CreateDirectory(app);
        File.Copy(Path.Combine(_root, "nuget.config"), Path.Combine(app, "nuget.config"));
        File.WriteAllText(Path.Combine(app, "App.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using Elmo.Core;

            var output = ElmoModel.Demo().CreateSession(StateMode.Stateless).Run([["The", "cat", "sat", "."]]);
            Console.WriteLine(string.Join(",", output.Layers.Select(BitConverter.SingleToInt32Bits)));
            """);
        ShipChecks.RunOk(ShipChecks.Dotnet, ["add", "package", "Elmo.Core", "--version", _version], app, _environment, TimeSpan.FromMinutes(5));
        var run = ShipChecks.RunOk(ShipChecks.Dotnet, ["run", "-c", "Debug"], app, _environment, TimeSpan.FromMinutes(5));

        var expected = Core.ElmoModel.Demo().CreateSession(Core.StateMode.Stateless).Run([["The", "cat", "sat", "."]]);
        Assert.That(run.Out.Trim(), Is.EqualTo(string.Join(",", expected.Layers.Select(BitConverter.SingleToInt32Bits))), "the packaged library computes the same bits");
    }

    /// <summary>
    /// The libraries are optimised whatever configuration their user builds: a Debug build of Elmo.Kernels and
    /// Elmo.Core (as an app referencing the projects gets) carries no DisableOptimizations flag. (Measured: a Debug
    /// consumer runs as fast as a Release one; see docs/performance.md.)
    /// </summary>
    [Test]
    public void DebugBuildsOfTheLibrariesAreOptimised()
    {
        // An app built in Debug with project references, as a developer of a consumer would have it.
        string output = Path.Combine(_root, "debug-build");
        ShipChecks.RunOk(ShipChecks.Dotnet, ["build", Path.Combine("examples", "Elmo.Examples.StateModes"), "-c", "Debug", "-o", output],
            Reference.RepoRoot, timeout: TimeSpan.FromMinutes(10));
        foreach (string assembly in new[] { "Elmo.Kernels.dll", "Elmo.Core.dll" })
        {
            using var stream = File.OpenRead(Path.Combine(output, assembly));
            Assert.That(OptimizationsDisabled(stream), Is.False, $"{assembly} built in Debug is not optimised");
        }
        // The app itself is a plain Debug build: the check does see the flag where it is.
        using var app = File.OpenRead(Path.Combine(output, "Elmo.Examples.StateModes.dll"));
        Assert.That(OptimizationsDisabled(app), Is.True, "the Debug app is not optimised");
    }
}
