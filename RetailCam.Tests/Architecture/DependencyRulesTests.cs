using System.Text.RegularExpressions;

namespace RetailCam.Tests.Architecture;

/// <summary>
/// The rules docs/ARCHITECTURE.md draws, read off the source: Engine folders form no cycle, the Engine knows
/// nothing of ASP.NET or EF Core, and the web app holds no tensor code.
/// </summary>
public partial class DependencyRulesTests
{
    private static readonly string Root = FindRepositoryRoot();

    [Fact]
    public void Engine_folders_depend_on_each_other_without_a_cycle()
    {
        var graph = EngineFolderGraph();
        Assert.Contains("Layout", graph.Keys);
        Assert.Contains("Training", graph.Keys);

        var state = new Dictionary<string, int>();
        var path = new Stack<string>();
        foreach (var folder in graph.Keys) Visit(folder);

        void Visit(string folder)
        {
            if (state.GetValueOrDefault(folder) == 2) return;
            if (state.GetValueOrDefault(folder) == 1)
                Assert.Fail($"Engine folders form a cycle: {string.Join(" → ", path.Reverse().SkipWhile(f => f != folder))} → {folder}");
            state[folder] = 1;
            path.Push(folder);
            foreach (var next in graph.GetValueOrDefault(folder, [])) Visit(next);
            path.Pop();
            state[folder] = 2;
        }
    }

    [Fact]
    public void The_engine_references_no_web_or_database_framework()
    {
        var offending = SourceFiles("RetailCam.Engine")
            .Where(f => File.ReadLines(f).Any(l => l.StartsWith("using Microsoft.AspNetCore", StringComparison.Ordinal) || l.StartsWith("using Microsoft.EntityFrameworkCore", StringComparison.Ordinal)))
            .ToList();
        Assert.Empty(offending);
    }

    [Fact]
    public void The_web_app_holds_no_tensor_code()
    {
        var offending = SourceFiles("RetailCam.Web", "*.cs").Concat(SourceFiles("RetailCam.Web", "*.razor"))
            .Where(f => File.ReadAllText(f).Contains("TorchSharp", StringComparison.Ordinal))
            .ToList();
        Assert.Empty(offending);
    }

    /// <summary>Folder → the Engine folders its files name in using directives.</summary>
    private static Dictionary<string, HashSet<string>> EngineFolderGraph()
    {
        var engine = Path.Combine(Root, "RetailCam.Engine");
        var graph = new Dictionary<string, HashSet<string>>();
        foreach (var file in SourceFiles("RetailCam.Engine"))
        {
            var relative = Path.GetRelativePath(engine, file);
            if (!relative.Contains(Path.DirectorySeparatorChar)) continue; // files of the root namespace depend on no folder
            var folder = relative.Split(Path.DirectorySeparatorChar)[0];
            var edges = graph.TryGetValue(folder, out var found) ? found : graph[folder] = [];
            foreach (Match match in EngineUsing().Matches(File.ReadAllText(file)))
                if (match.Groups[1].Value != folder) edges.Add(match.Groups[1].Value);
        }
        return graph;
    }

    private static IEnumerable<string> SourceFiles(string project, string pattern = "*.cs") =>
        Directory.EnumerateFiles(Path.Combine(Root, project), pattern, SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    private static string FindRepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "RetailCam.sln"))) return folder.FullName;
        throw new InvalidOperationException($"No RetailCam.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"(?:using|namespace)\s+(?:static\s+)?RetailCam\.Engine\.([A-Za-z]+)")]
    private static partial Regex EngineUsing();
}
