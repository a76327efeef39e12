using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace RetailCam.FunctionalTests;

/// <summary>REST on real Kestrel: good photos, the bad-input files of the data issue, and the server staying up.</summary>
[Collection(WebCollection.Name)]
public class PredictApiTests(WebAppFixture app)
{
    private static MultipartFormDataContent Form(params string[] paths)
    {
        var form = new MultipartFormDataContent();
        foreach (var path in paths)
        {
            var content = new ByteArrayContent(File.ReadAllBytes(path));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(content, "images", Path.GetFileName(path));
        }
        return form;
    }

    [Fact]
    public async Task Two_photos_get_the_json_of_retailcam_predict()
    {
        using var client = app.CreateClient();
        var response = await client.PostAsync("/api/predict", Form(TestPhotos.Good("a.png", 1), TestPhotos.Good("b.png", 2)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var images = body.RootElement.GetProperty("images");
        Assert.Equal(2, images.GetArrayLength());
        foreach (var image in images.EnumerateArray())
        {
            Assert.Equal(160, image.GetProperty("width").GetInt32());
            Assert.True(image.GetProperty("top").GetArrayLength() > 0);
            var path = image.GetProperty("path");
            Assert.True(path.GetArrayLength() >= 2);
            Assert.Equal(image.GetProperty("top")[0].GetProperty("category").GetString(), path[path.GetArrayLength() - 1].GetProperty("category").GetString());
        }
    }

    [Theory]
    [InlineData("not-an-image", 415)]
    [InlineData("truncated", 422)]
    [InlineData("empty", 400)]
    public async Task A_bad_file_alone_gets_its_status_with_a_problem_details_body(string kind, int status)
    {
        var path = kind switch { "not-an-image" => TestPhotos.NotAnImage(), "truncated" => TestPhotos.TruncatedPng(), _ => TestPhotos.Empty() };
        using var client = app.CreateClient();
        var response = await client.PostAsync("/api/predict", Form(path));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(Path.GetFileName(path), body.RootElement.GetProperty("errors")[0].GetProperty("file").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task A_bad_file_among_good_ones_is_reported_and_the_good_ones_are_answered()
    {
        using var client = app.CreateClient();
        var response = await client.PostAsync("/api/predict", Form(TestPhotos.Good("c.png", 4), TestPhotos.NotAnImage()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var images = body.RootElement.GetProperty("images");
        Assert.True(images[0].TryGetProperty("top", out _));
        Assert.Equal("NotAnImage", images[1].GetProperty("errorKind").GetString());
    }

    [Fact]
    public async Task A_photo_over_the_byte_limit_gets_413()
    {
        var big = Path.Combine(TestPhotos.Folder, "huge.png");
        var bytes = new byte[21 * 1024 * 1024];
        File.ReadAllBytes(TestPhotos.Good("seed.png", 9)).CopyTo(bytes, 0);
        File.WriteAllBytes(big, bytes);
        using var client = app.CreateClient();
        var response = await client.PostAsync("/api/predict", Form(big));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_request_that_is_not_multipart_gets_415_and_one_without_photos_gets_400()
    {
        using var client = app.CreateClient();
        var json = await client.PostAsync("/api/predict", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);

        var empty = await client.PostAsync("/api/predict", new MultipartFormDataContent { { new StringContent("x"), "other" } });
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal("application/problem+json", empty.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Predictions_are_kept_in_the_history_database_of_the_configured_data_folder()
    {
        using var client = app.CreateClient();
        await client.PostAsync("/api/predict", Form(TestPhotos.Good("history.png", 6)));
        Assert.True(File.Exists(Path.Combine(app.DataRoot, "retailcam.db")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(app.DataRoot, "uploads"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Models_lists_the_model_that_serves()
    {
        using var client = app.CreateClient();
        await client.PostAsync("/api/predict", Form(TestPhotos.Good("d.png", 5)));
        using var body = JsonDocument.Parse(await client.GetStringAsync("/api/models"));
        Assert.Equal("model:tiny", body.RootElement.GetProperty("active").GetString());
        Assert.Contains(body.RootElement.GetProperty("models").EnumerateArray(), m => m.GetProperty("id").GetString() == "model:tiny");
    }
}
