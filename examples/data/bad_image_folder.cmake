# A labeled image folder with one corrupt image, for the tool's --bad-images tests:
#   cmake -DSRC=<labeled image folder> -DDST=<folder to write> -P bad_image_folder.cmake
# copies SRC to DST and adds DST/1/broken.png, a file that is not a PNG.
file(REMOVE_RECURSE "${DST}")
file(COPY "${SRC}/" DESTINATION "${DST}")
file(WRITE "${DST}/1/broken.png" "not a png")
