using System.IO.Compression;
using Microsoft.Playwright;

using static RetailCam.FunctionalTests.PageControls;

namespace RetailCam.FunctionalTests;

/// <summary>A dataset built in the browser: created, categories added, photos dropped in (one bad), moved, a category renamed and deleted.</summary>
[Collection(WebCollection.Name)]
public class DatasetsPageTests(WebAppFixture app, BrowserFixture browser)
{
    private static ILocator Category(IPage page, string path) => page.Locator($"[data-testid=category-item][data-path='{path}']");

    [Fact]
    public async Task A_dataset_is_built_from_photos_on_the_users_machine_and_training_reads_what_the_page_shows()
    {
        var page = await browser.NewPageAsync(app, new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1360, Height = 1000 } });
        await page.GotoAsync(new Uri(app.BaseAddress, "datasets").ToString());
        await page.GetByTestId("app-interactive").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached, Timeout = 60_000 });

        await Input(page, "dataset-name").FillAsync("Browser built");
        await page.GetByTestId("dataset-create").ClickAsync();
        await Assertions.Expect(page.GetByTestId("dataset-title")).ToHaveTextAsync("Browser built", new LocatorAssertionsToHaveTextOptions { Timeout = 30_000 });
        var id = new Uri(page.Url).Segments[^1];

        // A zip of category folders dropped before any category exists lands at the root.
        var zipPath = Path.Combine(TestPhotos.Folder, $"{Guid.NewGuid():N}.zip");
        using (var archive = ZipFile.Open(zipPath, ZipArchiveMode.Create))
            archive.CreateEntryFromFile(TestPhotos.Good($"{Guid.NewGuid():N}.png", 9), "Bags/tote.png");
        await page.Locator("input[type=file]").SetInputFilesAsync(zipPath);
        await Assertions.Expect(Category(page, "Bags")).ToContainTextAsync("1", new LocatorAssertionsToContainTextOptions { Timeout = 30_000 });
        await Category(page, "Bags").ClickAsync();
        await page.GetByTestId("category-delete").ClickAsync();
        await page.Locator(".mud-dialog .mud-dialog-actions button").Filter(new LocatorFilterOptions { HasText = "Delete" }).ClickAsync();
        await Assertions.Expect(Category(page, "Bags")).ToHaveCountAsync(0);

        foreach (var category in new[] { "Garments/Tops", "Garments/Shoes", "Toys" })
        {
            await Input(page, "category-name").FillAsync(category);
            await page.GetByTestId("category-add").ClickAsync();
            await Assertions.Expect(Category(page, category)).ToBeVisibleAsync();
        }

        await Category(page, "Garments/Tops").ClickAsync();
        await Assertions.Expect(page.GetByTestId("selected-category")).ToHaveTextAsync("Garments › Tops");
        var photos = Enumerable.Range(1, 3).Select(i => TestPhotos.Good($"top-{i}.png", 10 + i)).Append(TestPhotos.TruncatedPng()).ToArray();
        await page.Locator("input[type=file]").SetInputFilesAsync(photos);
        await Assertions.Expect(page.GetByTestId("photo-tile")).ToHaveCountAsync(3, new LocatorAssertionsToHaveCountOptions { Timeout = 30_000 });
        await Assertions.Expect(page.GetByTestId("upload-refused")).ToContainTextAsync(Path.GetFileName(TestPhotos.TruncatedPng()));
        await Assertions.Expect(Category(page, "Garments/Tops")).ToContainTextAsync("3");
        await page.GetByTestId("health-check").ClickAsync();
        await Assertions.Expect(page.GetByTestId("health-small")).ToContainTextAsync("Garments/Tops");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "dataset-uploaded.png"), FullPage = true });

        // Move one photo to Shoes through the dialog.
        await page.GetByTestId("photo-move").First.ClickAsync();
        await page.GetByTestId("path-prompt-choice").ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item").Filter(new LocatorFilterOptions { HasText = "Garments/Shoes" }).ClickAsync();
        await page.GetByTestId("path-prompt-ok").ClickAsync();
        await Assertions.Expect(page.GetByTestId("photo-tile")).ToHaveCountAsync(2);
        await Assertions.Expect(Category(page, "Garments/Shoes")).ToContainTextAsync("1");

        // Rename Toys to Games, then delete it after confirming.
        await Category(page, "Toys").ClickAsync();
        await page.GetByTestId("category-rename").ClickAsync();
        await Input(page, "path-prompt-input").FillAsync("Games");
        await page.GetByTestId("path-prompt-ok").ClickAsync();
        await Assertions.Expect(Category(page, "Games")).ToBeVisibleAsync();
        await Assertions.Expect(Category(page, "Toys")).ToHaveCountAsync(0);
        await page.GetByTestId("category-delete").ClickAsync();
        await page.Locator(".mud-dialog .mud-dialog-actions button").Filter(new LocatorFilterOptions { HasText = "Delete" }).ClickAsync();
        await Assertions.Expect(Category(page, "Games")).ToHaveCountAsync(0);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotFolder, "dataset-edited.png"), FullPage = true });

        // The tree on disk is what training reads, and matches the page.
        var catalogue = Engine.Data.ImageCatalogue.Scan(Path.Combine(app.DataRoot, "datasets", id));
        Assert.Equal(["Garments/Shoes", "Garments/Tops"], catalogue.Categories.Order());
        Assert.Equal(3, catalogue.Entries.Count);
        Assert.Empty(catalogue.Skipped);
    }
}
