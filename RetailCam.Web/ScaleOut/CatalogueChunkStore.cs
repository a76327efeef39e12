using System.Text;
using System.Text.Json;
using RetailCam.Engine;
using RetailCam.Engine.Layout;

namespace RetailCam.Web.ScaleOut;

/// <summary>What a chunked categorisation is: its folder, model, photos and chunk size, fixed when it starts.</summary>
public sealed record CataloguePlan(Guid Id, string Folder, string DisplayFolder, string ModelId, IReadOnlyList<string> Files, int ChunkSize, DateTimeOffset Started)
{
    public int Chunks => (Files.Count + ChunkSize - 1) / ChunkSize;

    public IReadOnlyList<string> ChunkFiles(int chunk) => Files.Skip(chunk * ChunkSize).Take(ChunkSize).ToList();
}

/// <summary>What one chunk's photos came to.</summary>
public sealed record ChunkCounts(int Done, int Failed, int QueuedForReview);

/// <summary>
/// A chunked categorisation in the shared data root (catalogue-jobs/ID/): the plan, and per chunk its CSV
/// rows and counts, each written whole by a rename. A chunk whose rows are there is done: a worker that
/// takes it again (a retry, a resumed job) skips it, so a chunk is never counted twice.
/// </summary>
public sealed class CatalogueChunkStore(DataRootLayout layout)
{
    private const string PlanFile = "plan.json";
    private const string StopFile = "stop";

    public string Folder(Guid id) => Path.Combine(layout.Root, "catalogue-jobs", id.ToString("N"));

    public void WritePlan(CataloguePlan plan)
    {
        Directory.CreateDirectory(Folder(plan.Id));
        WriteWhole(Path.Combine(Folder(plan.Id), PlanFile), JsonSerializer.SerializeToUtf8Bytes(plan, EngineJson.Options));
    }

    public CataloguePlan? ReadPlan(Guid id)
    {
        var file = Path.Combine(Folder(id), PlanFile);
        return File.Exists(file) ? JsonSerializer.Deserialize<CataloguePlan>(File.ReadAllBytes(file), EngineJson.Options) : null;
    }

    public bool IsDone(Guid id, int chunk) => File.Exists(RowsFile(id, chunk));

    /// <summary>The chunk's counts once it is done; null before.</summary>
    public ChunkCounts? ReadCounts(Guid id, int chunk)
    {
        if (!IsDone(id, chunk)) return null;
        return JsonSerializer.Deserialize<ChunkCounts>(File.ReadAllBytes(CountsFile(id, chunk)), EngineJson.Options);
    }

    /// <summary>Counts first, rows last: the rows file is the mark of a done chunk, so its counts are always there with it.</summary>
    public void WriteChunk(Guid id, int chunk, string rows, ChunkCounts counts)
    {
        WriteWhole(CountsFile(id, chunk), JsonSerializer.SerializeToUtf8Bytes(counts, EngineJson.Options));
        WriteWhole(RowsFile(id, chunk), Encoding.UTF8.GetBytes(rows));
    }

    /// <summary>The job's CSV: the header, then every chunk's rows in chunk order, which is the order of the plan's photos.</summary>
    public byte[] ReadCsv(CataloguePlan plan, string header)
    {
        var csv = new StringBuilder(header);
        for (var chunk = 0; chunk < plan.Chunks; chunk++)
            if (IsDone(plan.Id, chunk)) csv.Append(File.ReadAllText(RowsFile(plan.Id, chunk), Encoding.UTF8));
        return Encoding.UTF8.GetBytes(csv.ToString());
    }

    public void RequestStop(Guid id) => WriteWhole(Path.Combine(Folder(id), StopFile), []);

    public bool StopRequested(Guid id) => File.Exists(Path.Combine(Folder(id), StopFile));

    private string RowsFile(Guid id, int chunk) => Path.Combine(Folder(id), $"chunk-{chunk:D5}.csv");
    private string CountsFile(Guid id, int chunk) => Path.Combine(Folder(id), $"chunk-{chunk:D5}.json");

    // Read by other processes, maybe on other machines: flushed before the rename.
    private static void WriteWhole(string path, byte[] content) => AtomicFile.Write(path, content, flushToDisk: true);
}
