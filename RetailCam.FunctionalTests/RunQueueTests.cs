using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RetailCam.Storage.Accounts;
using RetailCam.Tests.Support;

using static RetailCam.FunctionalTests.HttpJson;

namespace RetailCam.FunctionalTests;

/// <summary>One run trains at a time by default: the others wait in order, and a waiting run stops at once.</summary>
[Collection(WebCollection.Name)]
public class RunQueueTests
{
    private static async Task<JsonElement> RunAsync(HttpClient client, string id) => await Json(await client.GetAsync($"/api/runs/{id}"));

    /// <summary>The run once it has ended with that status and is no longer live, or as it is at the deadline.</summary>
    private static async Task<JsonElement> EndedAsync(HttpClient client, string id, string status, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var run = await RunAsync(client, id);
            if ((run.GetProperty("status").GetString() == status && !run.GetProperty("live").GetBoolean()) || DateTime.UtcNow > deadline) return run;
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Runs_beyond_the_one_training_wait_in_order_and_a_queued_run_is_cancelled_at_once()
    {
        await using var app = new PrivateWebApp(tinyModel: false);
        using var client = await app.ClientOfNewMemberAsync("queue-trainer", TeamRoles.Trainer);
        var tree = Path.Combine(app.DataRoot, "shapes");
        new SyntheticShapes(60, 32, seed: 43).WritePngTree(tree);
        var dataset = (await Json(await client.PostAsJsonAsync("/api/datasets", new { name = "Queued shapes", folder = "shapes" }))).GetProperty("id").GetString()!;
        var settings = new { dataset, epochs = 2, batchSize = 16, imageSize = 32, minutes = 0, snapshotEvery = 0, probes = 0 };
        async Task<string> StartAsync() => (await Json(await client.PostAsJsonAsync("/api/runs", settings))).GetProperty("id").GetString()!;

        var first = await StartAsync();
        await Task.Delay(1100); // run ids carry the second they start in
        var second = await StartAsync();
        await Task.Delay(1100);
        var third = await StartAsync();
        Assert.Equal(1, (await RunAsync(client, second)).GetProperty("queuePosition").GetInt32());
        Assert.Equal(2, (await RunAsync(client, third)).GetProperty("queuePosition").GetInt32());

        // Stopping a queued run needs no checkpoint: it is over before the first run is.
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/api/runs/{second}/stop", null)).StatusCode);
        var stopped = await EndedAsync(client, second, "Stopped", TimeSpan.FromSeconds(10));
        Assert.Equal("Stopped", stopped.GetProperty("status").GetString());
        Assert.Equal(0, stopped.GetProperty("step").GetInt64());
        Assert.True((await RunAsync(client, first)).GetProperty("live").GetBoolean(), "the first run was still training");
        Assert.Equal(1, (await RunAsync(client, third)).GetProperty("queuePosition").GetInt32());

        // The third starts once the first is done, and completes.
        var last = await EndedAsync(client, third, "Completed", TimeSpan.FromMinutes(5));
        Assert.Equal("Completed", last.GetProperty("status").GetString());
        var firstRun = await RunAsync(client, first);
        Assert.Equal("Completed", firstRun.GetProperty("status").GetString());
        var firstEnded = firstRun.GetProperty("metrics")[firstRun.GetProperty("metrics").GetArrayLength() - 1].GetProperty("at").GetDateTimeOffset();
        var thirdBegan = last.GetProperty("metrics")[0].GetProperty("at").GetDateTimeOffset();
        Assert.True(thirdBegan > firstEnded, $"the third run's first epoch ({thirdBegan:O}) came after the first run's last ({firstEnded:O})");
    }
}
