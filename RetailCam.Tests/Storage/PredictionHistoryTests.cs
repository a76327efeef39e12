using System.Text.Json;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Inference;
using RetailCam.Storage;
using RetailCam.Tests.Support;

namespace RetailCam.Tests.Storage;

public abstract class PredictionHistoryTests : IAsyncLifetime
{
    private readonly StorageTestRoot root;

    protected PredictionHistoryTests(StorageTestRoot root) => this.root = root;
    private string hash = "";

    public async Task InitializeAsync()
    {
        await root.InitializeAsync();
        hash = (await root.Uploads.SaveAsync(StorageTestRoot.Png(seed: 10), "shelf.png")).ContentHash;
    }

    public Task DisposeAsync() => root.DisposeAsync();

    private PredictionRecordEntity Record(DateTime atUtc, string category) => new()
    {
        AtUtc = atUtc,
        ModelId = "run-1",
        ContentHash = hash,
        FileName = "shelf.png",
        TopCategory = category,
        TopProbability = 0.5,
        ResultJson = "{}",
        Method = ClassMapMethods.Cam.Name,
    };

    [Fact]
    public async Task History_pages_newest_first()
    {
        var start = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        // Inserted out of time order: the order must come from the times, not the insertion.
        foreach (var minute in new[] { 3, 0, 6, 1, 5, 2, 4 })
            await root.Predictions.AddAsync(Record(start.AddMinutes(minute), $"Category {minute}"));

        var pages = new List<IReadOnlyList<PredictionRecordEntity>>();
        for (var skip = 0; skip < 9; skip += 3)
            pages.Add(await root.Predictions.ListRecentAsync(skip, take: 3));

        Assert.Equal([3, 3, 1], pages.Select(p => p.Count));
        Assert.Equal(Enumerable.Range(0, 7).Reverse().Select(m => start.AddMinutes(m)), pages.SelectMany(p => p).Select(p => p.AtUtc));
        Assert.All(pages.SelectMany(p => p), p => Assert.Equal(DateTimeKind.Utc, p.AtUtc.Kind));
        Assert.Equal(7, await root.Predictions.CountAsync());
        Assert.Empty(await root.Predictions.ListRecentAsync(skip: 7, take: 3));
    }

    [Fact]
    public async Task A_recorded_prediction_is_found_by_id_with_the_json_the_api_answered()
    {
        var prediction = new Prediction(
            "shelf.png", 640, 480,
            Top: [new CategoryScore("Footwear/Sneaker", 0.81), new CategoryScore("Footwear/Sandal", 0.12)],
            Path: [new PathLevel("Footwear", "Footwear", 0.93), new PathLevel("Sneaker", "Footwear/Sneaker", 0.81)],
            Boxes: [new ProductBox("Footwear/Sneaker", 0.81, 10, 20, 300, 240)],
            Maps: [],
            Probabilities: [0.81, 0.12, 0.07],
            ModelId: "run-7");

        var added = await root.Predictions.AddAsync(prediction, hash.ToUpperInvariant(), ClassMapMethods.GradCam);
        var found = await root.Predictions.GetAsync(added.Id);

        Assert.NotNull(found);
        Assert.Equal(hash, found.ContentHash);
        Assert.Equal(("run-7", "shelf.png", "Footwear/Sneaker", 0.81, "gradcam"), (found.ModelId, found.FileName, found.TopCategory, found.TopProbability, found.Method));
        Assert.Equal(JsonSerializer.Serialize(PredictionJson.Describe(prediction)), found.ResultJson);
        Assert.Null(await root.Predictions.GetAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task A_prediction_of_a_photo_that_was_never_stored_is_refused()
    {
        var record = Record(DateTime.UtcNow, "Bags/Bag");
        record.ContentHash = new string('b', 64);

        await Assert.ThrowsAsync<KeyNotFoundException>(() => root.Predictions.AddAsync(record));
        Assert.Equal(0, await root.Predictions.CountAsync());
    }

    [Fact]
    public async Task Concurrent_adds_from_several_tasks_all_land()
    {
        const int tasks = 6, perTask = 15;
        var start = DateTime.UtcNow;

        await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < perTask; i++)
                await root.Predictions.AddAsync(Record(start.AddMilliseconds(t * perTask + i), $"Task {t}"));
        })));

        Assert.Equal(tasks * perTask, await root.Predictions.CountAsync());
        var all = await root.Predictions.ListRecentAsync(0, PredictionHistory.MaxPageSize);
        Assert.Equal(tasks * perTask, all.Select(p => p.Id).Distinct().Count());
        Assert.All(Enumerable.Range(0, tasks), t => Assert.Equal(perTask, all.Count(p => p.TopCategory == $"Task {t}")));
    }
}

public sealed class SqlitePredictionHistoryTests() : PredictionHistoryTests(new StorageTestRoot());

[Collection(PostgresCollection.Name)]
public sealed class PostgresPredictionHistoryTests(PostgresServer postgres) : PredictionHistoryTests(new StorageTestRoot(postgres));
