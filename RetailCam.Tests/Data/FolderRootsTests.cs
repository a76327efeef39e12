using RetailCam.Engine.Data;

namespace RetailCam.Tests.Data;

public sealed class FolderRootsTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("retailcam-roots-").FullName;
    private readonly string outside = Directory.CreateTempSubdirectory("retailcam-outside-").FullName;

    public FolderRootsTests()
    {
        Directory.CreateDirectory(Path.Combine(root, "shop", "summer"));
        Directory.CreateDirectory(Path.Combine(root, ".hidden"));
    }

    public void Dispose()
    {
        Directory.Delete(root, recursive: true);
        Directory.Delete(outside, recursive: true);
    }

    [Fact]
    public void Folders_inside_the_root_resolve_and_sub_folders_are_listed_without_hidden_ones()
    {
        var roots = new FolderRoots([root]);
        Assert.Equal(Path.Combine(root, "shop", "summer"), roots.Resolve(0, "shop/summer"));
        Assert.Equal(root, roots.Resolve(0, ""));
        Assert.Equal(["shop"], roots.SubFolders(0, ""));
        Assert.Equal(["shop/summer"], roots.SubFolders(0, "shop"));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("shop/../../x")]
    [InlineData("/etc")]
    [InlineData("~/x")]
    public void Paths_that_leave_the_root_are_refused(string path)
    {
        var roots = new FolderRoots([root]);
        Assert.Throws<UnauthorizedAccessException>(() => roots.Resolve(0, path));
    }

    [Fact]
    public void A_link_inside_the_root_that_points_outside_is_refused()
    {
        Directory.CreateSymbolicLink(Path.Combine(root, "escape"), outside);
        var roots = new FolderRoots([root]);
        Assert.Throws<UnauthorizedAccessException>(() => roots.Resolve(0, "escape"));
    }

    [Fact]
    public void A_missing_folder_or_root_is_reported()
    {
        var roots = new FolderRoots([root]);
        Assert.Throws<DirectoryNotFoundException>(() => roots.Resolve(0, "nope"));
        Assert.Throws<UnauthorizedAccessException>(() => roots.Resolve(3, ""));
    }
}
