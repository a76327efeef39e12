using System.Net;
using System.Net.Http.Headers;
using RetailCam.Engine.Models.Storage;
using RetailCam.Storage.Accounts;
using RetailCam.Tests.Support;

using static RetailCam.FunctionalTests.HttpJson;

namespace RetailCam.FunctionalTests;

/// <summary>A damaged model is marked broken with its reason; predictions go to the last good model, and with none the API says why.</summary>
[Collection(WebCollection.Name)]
public class ModelFallbackTests
{
    private static MultipartFormDataContent Photo()
    {
        var content = new ByteArrayContent(File.ReadAllBytes(TestPhotos.Good()));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return new MultipartFormDataContent { { content, "images", "shirt.png" } };
    }

    /// <summary>Weights from another save with the same shapes: the manifest reads well, the load fails on the checksum.</summary>
    private static void SwapWeights(string modelFolder, string donorFolder) =>
        File.Copy(Path.Combine(ModelFolder.Resolve(donorFolder)!, ModelFolder.WeightsFileName),
            Path.Combine(ModelFolder.Resolve(modelFolder)!, ModelFolder.WeightsFileName), overwrite: true);

    [Fact]
    public async Task Predictions_fall_back_to_the_good_model_when_the_newest_is_corrupt_and_the_listing_says_why()
    {
        await using var app = new PrivateWebApp(tinyModel: true, prepare: root =>
        {
            // Saved after the good one: the newest, so the one a start serves by default.
            Thread.Sleep(20);
            var newest = TinyModels.Save(Path.Combine(root, "models", "newest"), seed: 9);
            SwapWeights(newest, TinyModels.Save(Path.Combine(root, "donor"), seed: 10));
        });
        using var client = await app.ClientOfNewMemberAsync("fallback-viewer", TeamRoles.Viewer);

        var answer = await client.PostAsync("/api/predict", Photo());

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("model:tiny", (await Json(answer)).GetProperty("images")[0].GetProperty("model").GetString());
        var models = (await Json(await client.GetAsync("/api/models"))).GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("id").GetString()!);
        Assert.Contains("SHA-256", models["model:newest"].GetProperty("broken").GetString());
        Assert.DoesNotContain(app.DataRoot, models["model:newest"].GetProperty("broken").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, models["model:tiny"].GetProperty("broken").ValueKind);
    }

    [Fact]
    public async Task With_no_good_model_the_api_answers_503_with_the_reason()
    {
        await using var app = new PrivateWebApp(tinyModel: true, prepare: root =>
            File.WriteAllText(Path.Combine(ModelFolder.Resolve(Path.Combine(root, "models", "tiny"))!, ModelFolder.ManifestFileName), "{ cut short"));
        using var client = await app.ClientOfNewMemberAsync("broken-viewer", TeamRoles.Viewer);

        var answer = await client.PostAsync("/api/predict", Photo());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
        var problem = await Json(answer);
        Assert.Contains("model:tiny is broken", problem.GetProperty("detail").GetString());
        Assert.Contains("not a valid manifest", problem.GetProperty("detail").GetString());
    }
}
