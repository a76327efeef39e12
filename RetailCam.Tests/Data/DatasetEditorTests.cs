using System.IO.Compression;
using RetailCam.Engine.Data;
using RetailCam.Engine.Layout;
using RetailCam.Tests.Imaging;
using SixLabors.ImageSharp.Formats.Png;

namespace RetailCam.Tests.Data;

public class DatasetEditorTests
{
    private static byte[] Png(byte shade, int size = 12)
    {
        using var image = TestImages.Solid(size, size, shade, (byte)(255 - shade), 40);
        return TestImages.Encode(image, new PngEncoder());
    }

    private static (string FileName, Stream Content) File(string name, byte[] bytes) => (name, new MemoryStream(bytes));

    [Fact]
    public async Task Categories_are_created_renamed_moved_and_deleted_as_folders_training_reads()
    {
        var root = TestImages.TempDirectory();
        var editor = new DatasetEditor(root);
        Assert.Equal("Garments/Men/T-shirt", editor.AddCategory(" Garments / Men / T-shirt "));
        editor.AddCategory("Garments/Women");
        // Category paths are relative to the dataset, whatever slashes they start with.
        Assert.Equal("Shoes", editor.AddCategory("/Shoes/"));
        editor.DeleteCategory("Shoes");
        await editor.AddPhotoAsync("Garments/Men/T-shirt", "tee.png", new MemoryStream(Png(10)));
        await editor.AddPhotoAsync("Garments/Women", "dress.png", new MemoryStream(Png(90)));

        Assert.Equal(["Garments", "Garments/Men", "Garments/Men/T-shirt", "Garments/Women"], editor.Categories().Select(c => c.Path));
        Assert.Equal(1, editor.Categories().Single(c => c.Path == "Garments/Men/T-shirt").Count);

        Assert.Equal("Garments/Men/Tee", editor.MoveCategory("Garments/Men/T-shirt", "Garments/Men/Tee"));
        Assert.True(System.IO.File.Exists(Path.Combine(root, "Garments", "Men", "Tee", "tee.png")));
        editor.MoveCategory("Garments/Men/Tee", "Tops/Tee");
        var catalogue = ImageCatalogue.Scan(root);
        Assert.Equal(["Garments/Women", "Tops/Tee"], catalogue.Categories.Order());

        Assert.Throws<DatasetEditException>(() => editor.MoveCategory("Tops", "Tops/Inner"));
        Assert.Throws<DatasetEditException>(() => editor.MoveCategory("Tops", "Garments/Women"));
        Assert.Throws<DatasetItemNotFoundException>(() => editor.MoveCategory("Nothing", "Else"));

        Assert.Equal(1, editor.DeleteCategory("Tops"));
        Assert.False(Directory.Exists(Path.Combine(root, "Tops")));
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("Garments/../../outside")]
    [InlineData(".hidden")]
    [InlineData("")]
    public void Category_paths_that_leave_the_root_or_hide_are_refused(string category)
    {
        var root = TestImages.TempDirectory();
        var editor = new DatasetEditor(root);
        var ex = Record.Exception(() => editor.AddCategory(category));
        Assert.True(ex is InvalidPathSegmentException or DatasetEditException, ex?.GetType().Name);
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(root)!), p => p.EndsWith("outside", StringComparison.Ordinal));
        Assert.Empty(Directory.EnumerateFileSystemEntries(root));
    }

    [Fact]
    public void A_link_inside_the_tree_is_never_followed()
    {
        var root = TestImages.TempDirectory();
        var outside = TestImages.TempDirectory();
        Directory.CreateSymbolicLink(Path.Combine(root, "Linked"), outside);
        var editor = new DatasetEditor(root);
        Assert.Throws<DatasetEditException>(() => editor.AddCategory("Linked/Inner"));
        Assert.Throws<DatasetEditException>(() => editor.DeleteCategory("Linked"));
        Assert.Empty(editor.Categories());
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
    }

    [Fact]
    public async Task An_upload_of_many_keeps_the_good_reports_each_bad_file_and_leaves_no_partial_file()
    {
        var root = TestImages.TempDirectory();
        var editor = new DatasetEditor(root);
        editor.AddCategory("Shoes");
        var outcome = await editor.AddPhotosAsync("Shoes",
        [
            File("a.png", Png(20)),
            File("broken.png", [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]),
            File("notes.txt", "hello"u8.ToArray()),
            File("../../escape.png", Png(30)),
            File("a.png", Png(40)),
            File("again.png", Png(20)),
        ]);
        Assert.Equal(["a.png", "escape.png", "a-2.png", "a.png"], outcome.Stored.Select(s => s.FileName));
        Assert.True(outcome.Stored[3].AlreadyPresent, "the same bytes were stored twice");
        Assert.Equal(["broken.png", "notes.txt"], outcome.Refused.Select(r => r.FileName));
        Assert.All(outcome.Refused, r => Assert.False(string.IsNullOrWhiteSpace(r.Reason)));
        Assert.Equal(["a-2.png", "a.png", "escape.png"], Directory.GetFiles(Path.Combine(root, "Shoes")).Select(Path.GetFileName).Order());
        Assert.Equal(3, editor.Photos("Shoes").Total);
        Assert.Equal(["a.png", "escape.png"], editor.Photos("Shoes", skip: 1, take: 5).FileNames);
    }

    [Fact]
    public async Task Photos_move_between_categories_and_are_deleted_by_name_only_inside_their_category()
    {
        var root = TestImages.TempDirectory();
        var editor = new DatasetEditor(root);
        editor.AddCategory("A");
        editor.AddCategory("B");
        await editor.AddPhotoAsync("A", "x.png", new MemoryStream(Png(1)));
        await editor.AddPhotoAsync("B", "x.png", new MemoryStream(Png(2)));
        var moved = editor.MovePhoto("A", "x.png", "B");
        Assert.Equal(("B", "x-2.png"), (moved.Category, moved.FileName));
        Assert.Equal(0, editor.Photos("A").Total);
        Assert.Throws<InvalidPathSegmentException>(() => editor.DeletePhoto("B", "../A"));
        Assert.Throws<DatasetItemNotFoundException>(() => editor.DeletePhoto("A", "x.png"));
        editor.DeletePhoto("B", "x.png");
        Assert.Equal(["x-2.png"], editor.Photos("B").FileNames);
    }

    [Fact]
    public async Task A_zip_whose_folders_are_categories_is_imported_photo_by_photo()
    {
        var root = TestImages.TempDirectory();
        var editor = new DatasetEditor(root);
        using var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string name, byte[] bytes)
            {
                using var entry = archive.CreateEntry(name).Open();
                entry.Write(bytes);
            }
            Add("Food/Fruit/apple.png", Png(100));
            Add("Food/Fruit/pear.png", Png(110));
            Add("Toys/car.png", Png(120));
            Add("Toys/bad.png", [1, 2, 3, 4]);
            Add("top.png", Png(130));
            Add("__MACOSX/Toys/._car.png", [0, 0]);
            Add("../evil/x.png", Png(140));
        }
        zip.Position = 0;
        var outcome = await editor.ImportZipAsync(zip);
        Assert.Equal(["Food/Fruit/apple.png", "Food/Fruit/pear.png", "Toys/car.png"], outcome.Stored.Select(s => $"{s.Category}/{s.FileName}"));
        Assert.Equal(["Toys/bad.png", "top.png", "../evil/x.png"], outcome.Refused.Select(r => r.FileName));
        Assert.False(Directory.Exists(Path.Combine(Path.GetDirectoryName(root)!, "evil")));
        Assert.Equal(3, ImageCatalogue.Scan(root).Entries.Count);

        await Assert.ThrowsAsync<DatasetEditException>(() => editor.ImportZipAsync(new MemoryStream("not a zip"u8.ToArray())));
    }

    /// <summary>A stream that cannot seek, as a browser upload is.</summary>
    private sealed class ForwardOnly(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
        public override long Position { get => base.Position; set => throw new NotSupportedException(); }
    }

    [Fact]
    public async Task Dropped_files_mix_photos_and_zips_and_a_zip_that_cannot_seek_is_spooled_first()
    {
        var root = TestImages.TempDirectory();
        var editor = new DatasetEditor(root);
        using var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var entry = archive.CreateEntry("Bags/tote.png").Open();
            entry.Write(Png(150));
        }
        // Into the root: the zip's folders become categories, a loose photo has nowhere to go.
        var top = await editor.AddFilesAsync(null, [("shop.zip", new ForwardOnly(zip.ToArray())), File("loose.png", Png(151))]);
        Assert.Equal(["Bags/tote.png"], top.Stored.Select(s => $"{s.Category}/{s.FileName}"));
        Assert.Equal(["loose.png"], top.Refused.Select(r => r.FileName));

        var inside = await editor.AddFilesAsync("Bags", [File("clutch.png", Png(152)), ("broken.zip", new ForwardOnly("not a zip"u8.ToArray()))]);
        Assert.Equal(["clutch.png"], inside.Stored.Select(s => s.FileName));
        Assert.Equal(["broken.zip"], inside.Refused.Select(r => r.FileName));
    }
}
