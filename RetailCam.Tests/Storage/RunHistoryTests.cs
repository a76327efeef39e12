using Microsoft.EntityFrameworkCore;
using RetailCam.Engine.Training;
using RetailCam.Storage;
using RetailCam.Tests.Support;

namespace RetailCam.Tests.Storage;

public abstract class RunHistoryTests : IAsyncLifetime
{
    private static readonly DateTime Created = new(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);
    private readonly StorageTestRoot root;

    protected RunHistoryTests(StorageTestRoot root) => this.root = root;

    public Task InitializeAsync() => root.InitializeAsync();
    public Task DisposeAsync() => root.DisposeAsync();

    private static RunRecordEntity Run(string id, RunStatus status = RunStatus.Pending, DateTime? created = null) => new()
    {
        Id = id,
        DataFolder = "/data/catalogue",
        Backbone = "resnet18",
        Status = status.ToString(),
        CreatedUtc = created ?? Created,
        OptionsJson = """{"epochs":3}""",
    };

    private static EpochEnded Epoch(string runId, int epoch, double validationAccuracy, double trainLoss = 0.5) =>
        new(runId, Step: (epoch + 1) * 100L, At: new DateTimeOffset(Created.AddMinutes(epoch + 1)), epoch, trainLoss, TrainAccuracy: 0.7,
            new ValidationResult(validationAccuracy, 0.4, [0.9, validationAccuracy], [[9, 1], [2, 8]], 20), IsBest: true);

    [Fact]
    public async Task Upserting_a_run_inserts_it_then_updates_it_and_keeps_its_creation_time()
    {
        await root.Runs.UpsertAsync(Run("run-a"));
        var summary = Run("run-a", RunStatus.Completed, created: Created.AddDays(5));
        summary.BestAccuracy = 0.91;
        summary.MaxBoxAcc = 0.66;
        summary.ImagesPerSecond = 88.5;
        summary.Steps = 1200;
        summary.Epochs = 3;
        await root.Runs.UpsertAsync(summary);

        var stored = await root.Runs.GetAsync("run-a");
        Assert.NotNull(stored);
        Assert.Equal(Created, stored.CreatedUtc);
        Assert.Equal(DateTimeKind.Utc, stored.CreatedUtc.Kind);
        Assert.Equal(("Completed", 0.91, 0.66, 88.5, 1200L, 3), (stored.Status, stored.BestAccuracy, stored.MaxBoxAcc, stored.ImagesPerSecond, stored.Steps, stored.Epochs));
        Assert.Single(await root.Runs.ListAsync());
    }

    [Fact]
    public async Task Status_changes_set_the_start_and_finish_times_and_keep_the_failure_message()
    {
        await root.Runs.UpsertAsync(Run("run-b"));
        var started = new DateTimeOffset(Created.AddMinutes(1));
        var failed = new DateTimeOffset(Created.AddMinutes(9));

        await root.Runs.RecordStatusAsync(new StatusChanged("run-b", 0, started, RunStatus.Running, null));
        await root.Runs.RecordStatusAsync(new StatusChanged("run-b", 40, started.AddMinutes(2), RunStatus.Paused, null));
        await root.Runs.RecordStatusAsync(new StatusChanged("run-b", 40, started.AddMinutes(3), RunStatus.Running, "resumed"));
        var stored = await root.Runs.RecordStatusAsync(new StatusChanged("run-b", 75, failed, RunStatus.Failed, "out of memory"));

        Assert.Equal(("Failed", 75L, "out of memory"), (stored.Status, stored.Steps, stored.Error));
        Assert.Equal(started.UtcDateTime, stored.StartedUtc); // the first start, not the resume
        Assert.Equal(failed.UtcDateTime, stored.FinishedUtc);
        Assert.Equal(DateTimeKind.Utc, (await root.Runs.GetAsync("run-b"))!.StartedUtc!.Value.Kind);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => root.Runs.RecordStatusAsync(new StatusChanged("nobody", 0, started, RunStatus.Running, null)));
    }

    [Fact]
    public async Task Epoch_metrics_are_recorded_once_per_epoch_even_when_a_resumed_run_replays_them()
    {
        await root.Runs.UpsertAsync(Run("run-c", RunStatus.Running));

        Assert.True(await root.Runs.AddEpochMetricAsync(Epoch("run-c", 0, 0.60)));
        Assert.True(await root.Runs.AddEpochMetricAsync(Epoch("run-c", 1, 0.80)));
        Assert.False(await root.Runs.AddEpochMetricAsync(Epoch("run-c", 1, 0.99, trainLoss: 9)));
        Assert.True(await root.Runs.AddEpochMetricAsync(Epoch("run-c", 2, 0.75)));

        var stored = await root.Runs.GetAsync("run-c");
        Assert.NotNull(stored);
        Assert.Equal([0, 1, 2], stored.EpochMetrics.Select(m => m.Epoch));
        var replayed = stored.EpochMetrics[1];
        Assert.Equal((0.80, 0.5, 200L), (replayed.ValidationAccuracy, replayed.TrainLoss, replayed.Step)); // the first report stands
        Assert.Equal("[0.9,0.8]", replayed.PerClassJson);
        Assert.Equal("[[9,1],[2,8]]", replayed.ConfusionJson);
        Assert.Equal((3, 300L, 0.80), (stored.Epochs, stored.Steps, stored.BestAccuracy));
    }

    [Fact]
    public async Task Epoch_metrics_of_a_run_that_was_never_recorded_are_refused()
    {
        await Assert.ThrowsAsync<KeyNotFoundException>(() => root.Runs.AddEpochMetricAsync(Epoch("ghost", 0, 0.5)));
    }

    [Fact]
    public async Task Deleting_a_run_deletes_its_epoch_metrics_and_nothing_else()
    {
        await root.Runs.UpsertAsync(Run("run-d"));
        await root.Runs.UpsertAsync(Run("run-e"));
        for (var epoch = 0; epoch < 3; epoch++)
        {
            await root.Runs.AddEpochMetricAsync(Epoch("run-d", epoch, 0.5));
            await root.Runs.AddEpochMetricAsync(Epoch("run-e", epoch, 0.5));
        }

        Assert.True(await root.Runs.DeleteAsync("run-d"));
        Assert.False(await root.Runs.DeleteAsync("run-d"));

        Assert.Null(await root.Runs.GetAsync("run-d"));
        await using var context = root.OpenContext();
        Assert.Equal(0, await context.EpochMetrics.CountAsync(m => m.RunId == "run-d"));
        Assert.Equal(3, await context.EpochMetrics.CountAsync(m => m.RunId == "run-e"));
    }

    [Fact]
    public async Task Runs_are_listed_newest_first()
    {
        await root.Runs.UpsertAsync(Run("old", created: Created));
        await root.Runs.UpsertAsync(Run("newest", created: Created.AddHours(2)));
        await root.Runs.UpsertAsync(Run("middle", created: Created.AddHours(1)));

        Assert.Equal(["newest", "middle", "old"], (await root.Runs.ListAsync()).Select(r => r.Id));
    }

    [Fact]
    public async Task Times_given_in_local_or_unmarked_time_are_kept_as_the_same_instant_and_read_back_as_utc()
    {
        // Unmarked times are taken as UTC (the stores write DateTime.UtcNow); local ones are converted.
        var run = Run("run-times", created: Created.AddHours(1).ToLocalTime());
        run.StartedUtc = DateTime.SpecifyKind(Created.AddHours(2), DateTimeKind.Unspecified);
        run.FinishedUtc = Created.AddHours(3);
        await root.Runs.UpsertAsync(run);
        await root.Runs.UpsertAsync(Run("run-later", created: Created.AddMinutes(90)));

        var stored = await root.Runs.GetAsync("run-times");
        Assert.NotNull(stored);
        Assert.Equal((Created.AddHours(1), Created.AddHours(2), Created.AddHours(3)), (stored.CreatedUtc, stored.StartedUtc!.Value, stored.FinishedUtc!.Value));
        Assert.Equal([DateTimeKind.Utc, DateTimeKind.Utc, DateTimeKind.Utc], new[] { stored.CreatedUtc, stored.StartedUtc.Value, stored.FinishedUtc.Value }.Select(t => t.Kind));
        // The database orders by the instant, newest first: 10:30 UTC before 10:00 UTC given as local time.
        Assert.Equal(["run-later", "run-times"], (await root.Runs.ListAsync()).Select(r => r.Id));
    }

    [Fact]
    public async Task Concurrent_epoch_reports_and_upserts_from_several_tasks_all_land_once()
    {
        const int runs = 4, epochs = 12;
        // Every task upserts its run and reports every epoch twice, racing the other runs' tasks
        // and its own duplicate reports.
        await Task.WhenAll(Enumerable.Range(0, runs * 2).Select(t => Task.Run(async () =>
        {
            var runId = $"run-{t % runs}";
            await root.Runs.UpsertAsync(Run(runId, RunStatus.Running));
            for (var epoch = 0; epoch < epochs; epoch++)
                await root.Runs.AddEpochMetricAsync(Epoch(runId, epoch, 0.5 + epoch / 100.0));
        })));

        var listed = await root.Runs.ListAsync();
        Assert.Equal(runs, listed.Count);
        await using var context = root.OpenContext();
        Assert.Equal(runs * epochs, await context.EpochMetrics.CountAsync());
        Assert.All(listed, r => Assert.Equal(epochs, r.Epochs));
    }
}

public sealed class SqliteRunHistoryTests() : RunHistoryTests(new StorageTestRoot());

[Collection(PostgresCollection.Name)]
public sealed class PostgresRunHistoryTests(PostgresServer postgres) : RunHistoryTests(new StorageTestRoot(postgres));
