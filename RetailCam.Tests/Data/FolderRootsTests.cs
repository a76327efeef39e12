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

    [Fact]
    public void A_folder_reached_through_a_link_on_the_way_out_is_refused()
    {
        // root/escape -> outside; outside/deeper is a real folder: only following every component shows where it is.
        Directory.CreateDirectory(Path.Combine(outside, "deeper"));
        Directory.CreateSymbolicLink(Path.Combine(root, "escape"), outside);
        var roots = new FolderRoots([root]);
        Assert.Throws<UnauthorizedAccessException>(() => roots.Resolve(0, "escape/deeper"));
    }

    [Fact]
    public void Links_that_stay_inside_the_root_are_followed_and_a_linked_root_is_judged_by_its_target()
    {
        Directory.CreateSymbolicLink(Path.Combine(root, "summer-link"), Path.Combine(root, "shop", "summer"));
        var linkedRoot = Path.Combine(outside, "root-link");
        Directory.CreateSymbolicLink(linkedRoot, root);
        Assert.Equal(Path.Combine(root, "summer-link"), new FolderRoots([root]).Resolve(0, "summer-link"));
        Assert.Equal(Path.Combine(linkedRoot, "shop"), new FolderRoots([linkedRoot]).Resolve(0, "shop"));
        Assert.Equal(Path.Combine(root, "shop", "summer"), FolderRoots.RealPath(Path.Combine(linkedRoot, "summer-link")));
    }

    [Fact]
    public void Links_in_a_loop_are_refused_not_followed_for_ever()
    {
        Directory.CreateSymbolicLink(Path.Combine(root, "a"), Path.Combine(root, "b"));
        Directory.CreateSymbolicLink(Path.Combine(root, "b"), Path.Combine(root, "a"));
        Assert.Throws<UnauthorizedAccessException>(() => FolderRoots.RealPath(Path.Combine(root, "a", "x")));
    }
}
