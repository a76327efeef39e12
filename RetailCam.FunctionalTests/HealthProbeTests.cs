using System.Net;
using System.Text.Json.Nodes;
using RetailCam.Engine.Models.Storage;
using RetailCam.Storage.Accounts;

using static RetailCam.FunctionalTests.HttpJson;

namespace RetailCam.FunctionalTests;

/// <summary>/healthz/live and /healthz/ready for load balancers and orchestrators: strangers learn the status, the team each check.</summary>
[Collection(WebCollection.Name)]
public class HealthProbeTests(WebAppFixture app)
{
    /// <summary>Asks until the app has finished starting (the engine starts in the background), or answers as it is at the deadline.</summary>
    private static async Task<(HttpStatusCode Status, System.Text.Json.JsonElement Body)> ReadyAsync(HttpClient client, string expected)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            using var response = await client.GetAsync("/healthz/ready");
            var body = await Json(response);
            if (body.GetProperty("status").GetString() == expected || DateTime.UtcNow > deadline) return (response.StatusCode, body);
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Liveness_answers_200_to_anyone()
    {
        using var client = app.CreateAnonymousClient();
        using var response = await client.GetAsync("/healthz/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("healthy", (await Json(response)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_healthy_app_is_ready_and_tells_a_stranger_only_its_status()
    {
        using var stranger = app.CreateAnonymousClient();
        var (status, body) = await ReadyAsync(stranger, "healthy");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["status"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("healthy", body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task The_team_sees_each_readiness_check_with_what_it_found()
    {
        using var viewer = app.CreateClient(TeamRoles.Viewer);
        var (status, body) = await ReadyAsync(viewer, "healthy");
        Assert.Equal(HttpStatusCode.OK, status);
        var checks = body.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal(["database", "engine", "model"], checks.Keys.Order());
        Assert.All(checks.Values, c => Assert.Equal("healthy", c.GetProperty("status").GetString()));
        Assert.Contains("cpu", checks["engine"].GetProperty("description").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("model:tiny", checks["model"].GetProperty("description").GetString());
    }

    [Fact]
    public async Task A_model_that_will_not_load_leaves_the_app_ready_but_degraded_with_the_reason_for_the_team()
    {
        await using var broken = new PrivateWebApp(tinyModel: true);
        using var member = await broken.ClientOfNewMemberAsync("health-viewer", TeamRoles.Viewer);
        await ReadyAsync(member, "healthy");
        // The model published again with a manifest that no longer matches its weights: the served copy is stale, the new one will not load.
        var manifestPath = Path.Combine(ModelFolder.Resolve(Path.Combine(broken.DataRoot, "models", "tiny"))!, ModelFolder.ManifestFileName);
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(manifestPath))!;
        manifest["weightsSha256"] = new string('0', 64);
        await File.WriteAllTextAsync(manifestPath, manifest.ToJsonString());

        var (status, body) = await ReadyAsync(member, "degraded");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("degraded", body.GetProperty("status").GetString());
        var model = body.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "model");
        Assert.Equal("degraded", model.GetProperty("status").GetString());
        Assert.Contains(ModelFolder.WeightsFileName, model.GetProperty("description").GetString());

        using var stranger = new HttpClient { BaseAddress = broken.Address };
        using var answer = await stranger.GetAsync("/healthz/ready");
        Assert.Equal(["status"], (await Json(answer)).EnumerateObject().Select(p => p.Name));
    }
}
