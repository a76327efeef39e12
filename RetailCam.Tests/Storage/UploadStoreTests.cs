using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using RetailCam.Engine.Imaging;
using RetailCam.Storage;
using RetailCam.Tests.Support;

namespace RetailCam.Tests.Storage;

public abstract class UploadStoreTests : IAsyncLifetime
{
    private readonly StorageTestRoot root;

    protected UploadStoreTests(StorageTestRoot root) => this.root = root;

    public Task InitializeAsync() => root.InitializeAsync();
    public Task DisposeAsync() => root.DisposeAsync();

    [Fact]
    public async Task Same_bytes_uploaded_twice_are_stored_once()
    {
        var png = StorageTestRoot.Png(seed: 1);

        var first = await root.Uploads.SaveAsync(png, "shelf.png");
        var second = await root.Uploads.SaveAsync(new MemoryStream(png), "again.png");

        var expectedHash = Convert.ToHexStringLower(SHA256.HashData(png));
        Assert.Equal(expectedHash, first.ContentHash);
        Assert.Equal(expectedHash, second.ContentHash);
        Assert.Equal("shelf.png", second.FileName); // the first name is kept
        Assert.Equal($"uploads/{expectedHash[..2]}/{expectedHash}.png", first.StoredPath);
        Assert.Equal("PNG", first.Format);
        Assert.Equal((12, 8, (long)png.Length), (first.Width, first.Height, first.Length));

        var files = Directory.GetFiles(Path.Combine(root.DataRoot, UploadStore.FolderName), "*", SearchOption.AllDirectories);
        Assert.Equal(Path.Combine(root.DataRoot, first.StoredPath), Assert.Single(files));
        await using var context = root.OpenContext();
        Assert.Equal(1, await context.Uploads.CountAsync());
    }

    [Fact]
    public async Task The_time_an_upload_was_first_seen_reads_back_as_utc()
    {
        var before = DateTime.UtcNow.AddSeconds(-1);
        var upload = await root.Uploads.SaveAsync(StorageTestRoot.Png(seed: 6), "till.png");

        var found = await root.Uploads.FindAsync(upload.ContentHash);
        Assert.NotNull(found);
        Assert.Equal(DateTimeKind.Utc, found.FirstSeenUtc.Kind);
        Assert.InRange(found.FirstSeenUtc, before, DateTime.UtcNow.AddSeconds(1));
    }

    [Fact]
    public async Task Stored_bytes_read_back_identical()
    {
        var png = StorageTestRoot.Png(seed: 2, width: 31, height: 17);
        var upload = await root.Uploads.SaveAsync(png, "rack.png");

        Assert.Equal(png, await root.Uploads.ReadBytesAsync(upload.ContentHash));
        Assert.Equal(png, await root.Uploads.ReadBytesAsync(upload.ContentHash.ToUpperInvariant()));
    }

    [Fact]
    public async Task Different_bytes_are_stored_as_different_uploads()
    {
        var a = await root.Uploads.SaveAsync(StorageTestRoot.Png(seed: 3), "a.png");
        var b = await root.Uploads.SaveAsync(StorageTestRoot.Png(seed: 4), "b.png");

        Assert.NotEqual(a.ContentHash, b.ContentHash);
        Assert.NotEqual(await root.Uploads.ReadBytesAsync(a.ContentHash), await root.Uploads.ReadBytesAsync(b.ContentHash));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("../../retailcam.db")]
    [InlineData("/etc/passwd")]
    [InlineData("")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde")]   // 63 digits
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0")] // 65 digits
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd/x")]  // 64 chars, not all hex
    public async Task A_hash_that_is_not_64_hex_digits_is_refused(string hash)
    {
        Assert.False(UploadStore.IsValidHash(hash));
        await Assert.ThrowsAsync<ArgumentException>(() => root.Uploads.ReadBytesAsync(hash));
        await Assert.ThrowsAsync<ArgumentException>(() => root.Uploads.FindAsync(hash));
    }

    [Fact]
    public async Task An_unknown_hash_reads_back_as_nothing()
    {
        Assert.Null(await root.Uploads.ReadBytesAsync(new string('a', 64)));
    }

    [Fact]
    public async Task Bytes_that_are_not_an_image_are_refused_and_nothing_is_stored()
    {
        var error = await Assert.ThrowsAsync<ImageDecodeException>(() => root.Uploads.SaveAsync("not a photo at all"u8.ToArray(), "notes.txt"));

        Assert.Equal(ImageDecodeErrorKind.NotAnImage, error.Kind);
        Assert.False(Directory.Exists(Path.Combine(root.DataRoot, UploadStore.FolderName)));
        await using var context = root.OpenContext();
        Assert.Equal(0, await context.Uploads.CountAsync());
    }

    [Fact]
    public async Task Concurrent_uploads_of_the_same_bytes_leave_one_file_and_one_row()
    {
        var png = StorageTestRoot.Png(seed: 5);

        var uploads = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => root.Uploads.SaveAsync(png, $"copy{i}.png"))));

        Assert.Single(uploads.Select(u => u.ContentHash).Distinct());
        var files = Directory.GetFiles(Path.Combine(root.DataRoot, UploadStore.FolderName), "*", SearchOption.AllDirectories);
        Assert.Single(files); // no temp file left behind either
        await using var context = root.OpenContext();
        Assert.Equal(1, await context.Uploads.CountAsync());
        Assert.Equal(png, await root.Uploads.ReadBytesAsync(uploads[0].ContentHash));
    }
}

public sealed class SqliteUploadStoreTests() : UploadStoreTests(new StorageTestRoot());

[Collection(PostgresCollection.Name)]
public sealed class PostgresUploadStoreTests(PostgresServer postgres) : UploadStoreTests(new StorageTestRoot(postgres));
