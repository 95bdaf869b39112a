; Inno Setup definition of a Windows installer for Foveal. NOT VERIFIED: no Windows machine has built or run it.
; Build the one-folder bundle on Windows first (pyinstaller packaging\foveal.spec, giving dist\foveal\), then:
;   iscc packaging\windows\foveal.iss
[Setup]
AppName=Foveal
AppVersion=0.1.0
DefaultDirName={autopf}\Foveal
DefaultGroupName=Foveal
OutputBaseFilename=foveal-0.1.0-windows-x86_64-setup
LicenseFile=..\..\LICENSE
Compression=lzma2
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64compatible
SetupIconFile=..\..\resources\icons\foveal.ico

[Files]
Source: "..\..\dist\foveal\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
Name: "{group}\Foveal"; Filename: "{app}\foveal.exe"
Name: "{autodesktop}\Foveal"; Filename: "{app}\foveal.exe"; Tasks: desktopicon

[Tasks]
Name: desktopicon; Description: "Create a desktop icon"; Flags: unchecked
