using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace RetailCam.Storage.Migrations
{
    /// <inheritdoc />
    public partial class RunResumeOnStart : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "ResumeOnStart",
                table: "Runs",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "ResumeOnStart",
                table: "Runs");
        }
    }
}
