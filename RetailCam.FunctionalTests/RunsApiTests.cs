using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RetailCam.Engine.Data;
using RetailCam.Tests.Support;

using static RetailCam.FunctionalTests.HttpJson;

namespace RetailCam.FunctionalTests;

/// <summary>Runs started over REST from an app dataset: each records the dataset version it trained on.</summary>
[Collection(WebCollection.Name)]
public class RunsApiTests(WebAppFixture app)
{
    private static async Task<JsonElement> WaitFinishedAsync(HttpClient client, string id)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (true)
        {
            var run = await Json(await client.GetAsync($"/api/runs/{id}"));
            var status = run.GetProperty("status").GetString();
            if (status is "Completed" or "Failed" or "Stopped" && !run.GetProperty("live").GetBoolean()) return run;
            Assert.True(DateTime.UtcNow < deadline, $"run {id} still {status} after 5 minutes");
            await Task.Delay(500);
        }
    }

    [Fact]
    public async Task A_run_started_on_a_dataset_records_its_version_and_a_filed_photo_makes_the_next_version_differ()
    {
        using var client = app.CreateClient();
        // A registered tree of coloured shapes: three categories, enough photos for a validation split.
        var tree = Path.Combine(app.DataRoot, $"shapes-api-{Guid.NewGuid():N}");
        new SyntheticShapes(60, 32, seed: 41).WritePngTree(tree);
        var created = await Json(await client.PostAsJsonAsync("/api/datasets", new { name = "Shapes for runs", folder = Path.GetFileName(tree) }));
        var dataset = created.GetProperty("id").GetString()!;

        var settings = new { dataset, epochs = 1, batchSize = 16, imageSize = 32, minutes = 0, snapshotEvery = 0, probes = 0 };
        var started = await client.PostAsJsonAsync("/api/runs", settings);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var first = (await Json(started)).GetProperty("id").GetString()!;
        var run = await WaitFinishedAsync(client, first);
        Assert.Equal("Completed", run.GetProperty("status").GetString());
        Assert.Equal(dataset, run.GetProperty("dataset").GetString());
        var version = run.GetProperty("datasetVersion").GetString()!;
        Assert.Equal(64, version.Length);
        var manifest = DatasetManifest.Load(Path.Combine(app.DataRoot, "runs", first, DatasetManifest.FileName))!;
        Assert.Equal(version, manifest.Version);
        Assert.Equal(ImageCatalogue.Scan(tree).Entries.Count, manifest.Files);
        Assert.True(run.GetProperty("metrics").GetArrayLength() >= 1);

        // One more photo in the dataset: the next run trains on another version, and says which photo is new.
        var category = (await Json(await client.GetAsync($"/api/datasets/{dataset}/categories")))[0].GetProperty("path").GetString()!;
        var form = new MultipartFormDataContent { { new ByteArrayContent(await File.ReadAllBytesAsync(TestPhotos.Good($"{Guid.NewGuid():N}.png", 42))), "images", "extra.png" } };
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/datasets/{dataset}/photos?category={Uri.EscapeDataString(category)}", form)).StatusCode);
        var second = (await Json(await client.PostAsJsonAsync("/api/runs", settings))).GetProperty("id").GetString()!;
        var next = await WaitFinishedAsync(client, second);
        Assert.NotEqual(version, next.GetProperty("datasetVersion").GetString());
        var (added, removed, changed) = DatasetManifest.Load(Path.Combine(app.DataRoot, "runs", second, DatasetManifest.FileName))!.Since(manifest);
        Assert.Equal([$"{category}/extra.png"], added);
        Assert.Empty(removed);
        Assert.Empty(changed);

        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsync($"/api/runs/{second}/stop", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/runs/{second}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/runs/{second}")).StatusCode);
    }

    [Theory]
    [InlineData("{}", 400)]
    [InlineData("{\"dataset\": \"no-such-dataset\"}", 404)]
    [InlineData("{\"dataset\": \"DATASET\", \"epochs\": 0}", 400)]
    [InlineData("{\"dataset\": \"DATASET\", \"backbone\": \"alexnet\"}", 400)]
    [InlineData("{\"dataset\": \"DATASET\", \"minutes\": -1}", 400)]
    public async Task Bad_run_requests_get_problem_details_and_start_nothing(string body, int status)
    {
        using var client = app.CreateClient();
        var dataset = (await Json(await client.PostAsJsonAsync("/api/datasets", new { name = "Run requests" }))).GetProperty("id").GetString()!;
        var before = (await Json(await client.GetAsync("/api/runs"))).GetArrayLength();
        var response = await client.PostAsync("/api/runs", new StringContent(body.Replace("DATASET", dataset, StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, (await Json(await client.GetAsync("/api/runs"))).GetArrayLength());
    }
}
