using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

using static RetailCam.FunctionalTests.HttpJson;

namespace RetailCam.FunctionalTests;

/// <summary>The datasets REST API on real Kestrel and SQLite: create, categories, uploads good and bad, zips, paths that try to leave.</summary>
[Collection(WebCollection.Name)]
public class DatasetsApiTests(WebAppFixture app)
{
    private static MultipartFormDataContent Form(params (string Name, byte[] Bytes)[] files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, bytes) in files)
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(content, "images", name);
        }
        return form;
    }

    private static (string, byte[]) Photo(string name, int seed) => (name, File.ReadAllBytes(TestPhotos.Good($"{Guid.NewGuid():N}.png", seed)));

    private static async Task<string> CreateAsync(HttpClient client, string name)
    {
        var response = await client.PostAsJsonAsync("/api/datasets", new { name });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await Json(response)).GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task A_dataset_is_created_filled_with_photos_one_bad_among_them_and_listed_by_category()
    {
        using var client = app.CreateClient();
        var id = await CreateAsync(client, "Spring catalogue");
        Assert.StartsWith("spring-catalogue", id, StringComparison.Ordinal);
        Assert.Contains((await Json(await client.GetAsync("/api/datasets"))).EnumerateArray(), d => d.GetProperty("id").GetString() == id);

        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync($"/api/datasets/{id}/categories?path=Garments/Men/T-shirt", null)).StatusCode);
        var upload = await client.PostAsync($"/api/datasets/{id}/photos?category=Garments/Men/T-shirt",
            Form(Photo("tee.png", 1), ("broken.png", File.ReadAllBytes(TestPhotos.TruncatedPng())), Photo("tee2.png", 2)));
        Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
        var outcome = await Json(upload);
        Assert.Equal(["tee.png", "tee2.png"], outcome.GetProperty("stored").EnumerateArray().Select(s => s.GetProperty("file").GetString()));
        var refused = outcome.GetProperty("refused").EnumerateArray().Single();
        Assert.Equal("broken.png", refused.GetProperty("file").GetString());
        Assert.False(string.IsNullOrWhiteSpace(refused.GetProperty("reason").GetString()));

        var categories = await Json(await client.GetAsync($"/api/datasets/{id}/categories"));
        Assert.Equal(2, categories.EnumerateArray().Single(c => c.GetProperty("path").GetString() == "Garments/Men/T-shirt").GetProperty("count").GetInt32());
        var page = await Json(await client.GetAsync($"/api/datasets/{id}/photos?category=Garments/Men/T-shirt&take=1"));
        Assert.Equal(2, page.GetProperty("total").GetInt32());
        var photo = await client.GetAsync($"/api/datasets/{id}/photo?category=Garments/Men/T-shirt&file=tee.png");
        Assert.Equal("image/png", photo.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_zip_of_category_folders_becomes_categories_below_the_one_named()
    {
        using var client = app.CreateClient();
        var id = await CreateAsync(client, "Zipped");
        using var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (entry, seed) in new[] { ("Fruit/apple.png", 3), ("Fruit/pear.png", 4), ("Toys/car.png", 5) })
            {
                using var stream = archive.CreateEntry(entry).Open();
                stream.Write(File.ReadAllBytes(TestPhotos.Good($"{Guid.NewGuid():N}.png", seed)));
            }
        }
        await client.PostAsync($"/api/datasets/{id}/categories?path=Shop", null);
        var response = await client.PostAsync($"/api/datasets/{id}/photos?category=Shop", Form(("catalogue.zip", zip.ToArray())));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, (await Json(response)).GetProperty("stored").GetArrayLength());
        var paths = (await Json(await client.GetAsync($"/api/datasets/{id}/categories"))).EnumerateArray().Select(c => c.GetProperty("path").GetString());
        Assert.Equal(["Shop", "Shop/Fruit", "Shop/Toys"], paths);

        // Without a category a zip goes to the root, its folders becoming top-level categories; a loose photo needs one.
        var root = await client.PostAsync($"/api/datasets/{id}/photos", Form(("catalogue.zip", zip.ToArray())));
        Assert.Equal(HttpStatusCode.OK, root.StatusCode);
        var top = (await Json(await client.GetAsync($"/api/datasets/{id}/categories"))).EnumerateArray().Select(c => c.GetProperty("path").GetString());
        Assert.Equal(["Fruit", "Shop", "Shop/Fruit", "Shop/Toys", "Toys"], top);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync($"/api/datasets/{id}/photos", Form(Photo("loose.png", 9)))).StatusCode);
    }

    [Theory]
    [InlineData("/api/datasets/{id}/categories?path=../../escape", 400)]
    [InlineData("/api/datasets/{id}/photos?category=Nowhere", 404)]
    [InlineData("/api/datasets/no-such-dataset/photos?category=A", 404)]
    [InlineData("/api/datasets/..%2F..%2Fetc/categories?path=A", 404)]
    public async Task Bad_paths_and_unknown_names_get_problem_details_and_write_nothing(string url, int status)
    {
        using var client = app.CreateClient();
        var id = await CreateAsync(client, "Guarded");
        var response = await client.PostAsync(url.Replace("{id}", id, StringComparison.Ordinal), url.Contains("/photos", StringComparison.Ordinal) ? Form(Photo("a.png", 6)) : null);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.False(Directory.Exists(Path.Combine(app.DataRoot, "escape")));
        Assert.False(Directory.Exists(Path.Combine(app.DataRoot, "datasets", "escape")));
    }

    [Fact]
    public async Task Creating_without_a_name_or_registering_outside_the_folder_roots_is_refused()
    {
        using var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/api/datasets", new { name = " " })).StatusCode);
        var outside = await client.PostAsJsonAsync("/api/datasets", new { name = "Escape", folder = "../.." });
        Assert.Equal(HttpStatusCode.BadRequest, outside.StatusCode);
        Assert.Equal("application/problem+json", outside.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task An_existing_tree_under_a_folder_root_is_registered_once()
    {
        var tree = Path.Combine(app.DataRoot, $"tree-{Guid.NewGuid():N}", "Shoes");
        Directory.CreateDirectory(tree);
        File.Copy(TestPhotos.Good($"{Guid.NewGuid():N}.png", 7), Path.Combine(tree, "boot.png"));
        using var client = app.CreateClient();
        var folder = Path.GetRelativePath(app.DataRoot, Path.GetDirectoryName(tree)!);
        var response = await client.PostAsJsonAsync("/api/datasets", new { name = "Shoes on disk", folder });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await Json(response)).GetProperty("id").GetString();
        var categories = await Json(await client.GetAsync($"/api/datasets/{id}/categories"));
        Assert.Equal(1, categories.EnumerateArray().Single(c => c.GetProperty("path").GetString() == "Shoes").GetProperty("count").GetInt32());
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/api/datasets", new { name = "Again", folder })).StatusCode);
    }

    [Fact]
    public async Task The_health_check_flags_a_planted_duplicate_and_a_photo_the_model_places_elsewhere()
    {
        using var client = app.CreateClient();
        var id = await CreateAsync(client, "Health");
        // The tiny model's categories, so its answers can be compared with the photos' folders.
        // The serving model's categories (other tests may have trained newer models that do not serve).
        await client.PostAsync("/api/predict", Form(Photo("warm-up.png", 30)));
        var models = await Json(await client.GetAsync("/api/models"));
        var active = models.GetProperty("active").GetString();
        var categories = models.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("id").GetString() == active)
            .GetProperty("categories").EnumerateArray().Select(c => c.GetString()!).ToList();
        foreach (var category in categories) await client.PostAsync($"/api/datasets/{id}/categories?path={Uri.EscapeDataString(category)}", null);
        var photo = Photo("planted.png", 31);
        // Where the model puts it, and the same bytes under another category too: a duplicate across categories.
        var predicted = await Json(await client.PostAsync("/api/predict", Form(photo)));
        var top = predicted.GetProperty("images")[0].GetProperty("top")[0].GetProperty("category").GetString()!;
        var elsewhere = categories.First(c => c != top);
        await client.PostAsync($"/api/datasets/{id}/photos?category={Uri.EscapeDataString(top)}", Form(photo));
        await client.PostAsync($"/api/datasets/{id}/photos?category={Uri.EscapeDataString(elsewhere)}", Form(photo));

        var report = await Json(await client.GetAsync($"/api/datasets/{id}/health?labels=true&confidence=0.05"));
        Assert.False(report.GetProperty("healthy").GetBoolean());
        var duplicate = report.GetProperty("duplicates").EnumerateArray().Single();
        Assert.True(duplicate.GetProperty("acrossCategories").GetBoolean());
        Assert.Equal(2, duplicate.GetProperty("paths").GetArrayLength());
        var suspicious = report.GetProperty("suspicious").EnumerateArray().Single();
        Assert.Equal(elsewhere, suspicious.GetProperty("category").GetString());
        Assert.Equal(top, suspicious.GetProperty("predicted").GetString());
        // At the default confidence (0.8) the tiny model's doubtful answers accuse nobody.
        Assert.Empty((await Json(await client.GetAsync($"/api/datasets/{id}/health?labels=true"))).GetProperty("suspicious").EnumerateArray());
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync($"/api/datasets/{id}/health?confidence=2")).StatusCode);
    }
}
