using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.Playwright;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Models.Export;
using RetailCam.Storage.Accounts;
using RetailCam.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RetailCam.FunctionalTests;

/// <summary>GET /api/models/{id}/onnx on real Kestrel: the file against POST /api/predict, the cache, and the refusals.</summary>
[Collection(WebCollection.Name)]
public sealed class OnnxExportApiTests
{
    [Fact]
    public async Task A_model_downloads_as_onnx_whose_probabilities_match_the_predict_api_and_a_second_download_comes_from_the_cache()
    {
        // Float32 serving: the API's probabilities then come from the arithmetic the file holds, not a bf16 copy of it.
        await using var app = new PrivateWebApp(tinyModel: true, ("RetailCam:Inference:Precision", "Float32"));
        using var client = await app.ClientOfNewMemberAsync("onnx-viewer", TeamRoles.Viewer);
        var url = $"/api/models/{Uri.EscapeDataString("model:tiny")}/onnx";

        var first = await client.GetAsync(url);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("application/octet-stream", first.Content.Headers.ContentType?.MediaType);
        Assert.Equal("model_tiny.onnx", first.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        Assert.Equal("miss", first.Headers.GetValues("X-RetailCam-Export-Cache").Single());
        var bytes = await first.Content.ReadAsByteArrayAsync();
        using var session = new InferenceSession(bytes);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal(TinyModels.Categories, JsonSerializer.Deserialize<string[]>(metadata[OnnxExport.Metadata.Categories]));

        var photo = TestPhotos.Good("onnx-parity.png", 7);
        using var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(await File.ReadAllBytesAsync(photo));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(content, "images", "onnx-parity.png");
        var answer = (await HttpJson.Json(await client.PostAsync("/api/predict", form))).GetProperty("images")[0];
        var side = answer.GetProperty("inputSize").GetInt32();
        var top = answer.GetProperty("top")[0];

        using var image = Image.Load<Rgb24>(photo);
        using var images = ImageTensors.ToBatch([image], side, side, FitMode.Stretch);
        using var input = OrtValue.CreateTensorValueFromMemory(images.data<float>().ToArray(), images.shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [OnnxExport.InputName], [input], [OnnxExport.LogitsName, OnnxExport.FeaturesName]);
        var temperature = double.Parse(metadata[OnnxExport.Metadata.Temperature], System.Globalization.CultureInfo.InvariantCulture);
        var logits = outputs[0].GetTensorDataAsSpan<float>().ToArray().Select(l => l / temperature).ToArray();
        var exp = logits.Select(l => Math.Exp(l - logits.Max())).ToArray();
        var best = Array.IndexOf(logits, logits.Max());
        Assert.Equal(TinyModels.Categories[best], top.GetProperty("category").GetString());
        Assert.InRange(Math.Abs(exp[best] / exp.Sum() - top.GetProperty("probability").GetDouble()), 0, 1e-4);
        Assert.Equal([1L, 8, side / 16, side / 16], outputs[1].GetTensorTypeAndShape().Shape);

        var second = await client.GetAsync(url);

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("hit", second.Headers.GetValues("X-RetailCam-Export-Cache").Single());
        Assert.Equal(bytes, await second.Content.ReadAsByteArrayAsync());
        Assert.Single(Directory.GetFiles(Path.Combine(app.DataRoot, "cache", "onnx"), "*.onnx"));
    }

    [Fact]
    public async Task An_unknown_model_is_404_a_broken_one_409_and_a_stranger_401()
    {
        await using var app = new PrivateWebApp(tinyModel: true, dataRoot =>
        {
            var broken = Directory.CreateDirectory(Path.Combine(dataRoot, "models", "broken")).FullName;
            File.WriteAllText(Path.Combine(broken, "manifest.json"), "{ not a manifest");
        });
        using var client = await app.ClientOfNewMemberAsync("onnx-refused", TeamRoles.Viewer);

        await HttpJson.AssertProblemAsync(await client.GetAsync($"/api/models/{Uri.EscapeDataString("model:nothing")}/onnx"), HttpStatusCode.NotFound);
        await HttpJson.AssertProblemAsync(await client.GetAsync("/api/models/nonsense/onnx"), HttpStatusCode.NotFound);
        var broken = await client.GetAsync($"/api/models/{Uri.EscapeDataString("model:broken")}/onnx");
        await HttpJson.AssertProblemAsync(broken, HttpStatusCode.Conflict);
        Assert.DoesNotContain(app.DataRoot, (await HttpJson.Json(broken)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        using var stranger = new HttpClient { BaseAddress = app.Address };
        Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.GetAsync($"/api/models/{Uri.EscapeDataString("model:tiny")}/onnx")).StatusCode);
    }
}

/// <summary>The run monitor's ONNX button, in Chromium, on a run the app trained.</summary>
[Collection(WebCollection.Name)]
public sealed class RunMonitorOnnxTests(WebAppFixture app, BrowserFixture browser)
{
    [Fact]
    public async Task A_completed_run_offers_its_model_as_an_onnx_download_that_onnx_runtime_loads()
    {
        new SyntheticShapes(48, 32, seed: 43).WritePngTree(Path.Combine(app.DataRoot, "shapes-onnx"));
        using var client = app.CreateClient(TeamRoles.Trainer);
        var dataset = (await HttpJson.Json(await client.PostAsJsonAsync("/api/datasets", new { name = "Shapes to export", folder = "shapes-onnx" }))).GetProperty("id").GetString()!;
        var runId = (await HttpJson.Json(await client.PostAsJsonAsync("/api/runs", new { dataset, epochs = 1, batchSize = 16, imageSize = 32, minutes = 0, snapshotEvery = 0, probes = 0 })))
            .GetProperty("id").GetString()!;
        for (var deadline = DateTime.UtcNow.AddMinutes(4); await HttpJson.Json(await client.GetAsync($"/api/runs/{runId}")) is var run
            && (run.GetProperty("live").GetBoolean() || run.GetProperty("status").GetString() != "Completed"); await Task.Delay(250))
            Assert.True(DateTime.UtcNow < deadline, $"the run did not complete within 4 minutes: {run}");

        var page = await browser.NewPageAsync(app, new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } }, WebAppFixture.ViewerName);
        await page.GotoAsync(new Uri(app.BaseAddress, $"runs/{runId}").ToString());
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });
        var button = page.GetByTestId("download-onnx");
        await Assertions.Expect(button).ToBeVisibleAsync(new LocatorAssertionsToBeVisibleOptions { Timeout = 30_000 });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "run-monitor-onnx.png") });

        var download = await page.RunAndWaitForDownloadAsync(() => button.ClickAsync());

        Assert.Equal($"run_{runId}.onnx", download.SuggestedFilename);
        var saved = Path.Combine(Path.GetTempPath(), $"retailcam-download-{Guid.NewGuid():N}.onnx");
        await download.SaveAsAsync(saved);
        try
        {
            using var session = new InferenceSession(saved);
            var trained = RetailCam.Engine.Models.Storage.ModelFolder.ReadManifest(new RetailCam.Engine.Layout.DataRootLayout(app.DataRoot).Run(runId).ModelFolder);
            Assert.Equal(trained.Categories, JsonSerializer.Deserialize<string[]>(session.ModelMetadata.CustomMetadataMap[OnnxExport.Metadata.Categories]));
            Assert.Equal(SyntheticShapes.Categories.Order(StringComparer.Ordinal), trained.Categories.Order(StringComparer.Ordinal));
        }
        finally
        {
            File.Delete(saved);
        }
    }
}
