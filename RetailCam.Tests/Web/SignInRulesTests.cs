using System.Net;
using RetailCam.Web.Security;

namespace RetailCam.Tests.Web;

public class SignInRulesTests
{
    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("10.0.0.5", false)]
    [InlineData("192.168.1.20", false)]
    [InlineData("::ffff:10.0.0.5", false)]
    public void Only_a_visitor_on_this_machine_may_create_the_first_admin(string address, bool allowed) =>
        Assert.Equal(allowed, FirstStart.MayRunFrom(IPAddress.Parse(address)));

    [Fact]
    public void No_address_is_not_this_machine() => Assert.False(FirstStart.MayRunFrom(null));

    [Theory]
    [InlineData("/predict?x=1", "/predict?x=1")]
    [InlineData("/", "/")]
    [InlineData(null, "/")]
    [InlineData("", "/")]
    [InlineData("https://evil.example/", "/")]
    [InlineData("//evil.example/", "/")]
    [InlineData("/\\evil.example/", "/")]
    [InlineData("predict", "/")]
    public void The_login_page_returns_only_to_a_page_of_this_app(string? returnUrl, string expected) =>
        Assert.Equal(expected, AccountEndpoints.SafeReturn(returnUrl));
}
